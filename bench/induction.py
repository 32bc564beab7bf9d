"""Can the model class learn to copy, and how fast? Trains fresh models on repeated random tokens.

Retrieval (needle in a haystack, recall pages, the e-commerce items whose answer is in the
prompt) rests on copying: find where the current token occurred before and continue with what
followed it (an induction head). This bench takes the question away from the corpus: each model
is built with its own ``init_weights`` and trained on nothing but random sequences of ``--n``
tokens written twice, where the second copy is predictable only by copying. It prints the loss
on the first and second copy over training and the step where copying formed (second copy 1 nat
below the first), or "no" within ``--steps``.

    .venv/bin/python bench/induction.py [--steps 1000] [--only NAME ...]

writes bench/results/induction.md. Shapes: the tiny recipe's model, the same with 2 layers, the
micro recipe's; each with the recipe's embedding init (std 0.02) and with unit-std embeddings;
and the tiny model on Zipf-distributed tokens (as text is) instead of uniform ones.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch
from niah_abf import token_nll

from compass.model import CompassModel, ModelConfig
from compass.recipes import get_recipe

RESULTS = Path(__file__).parent / "results" / "induction.md"


def shapes() -> dict[str, tuple[ModelConfig, float, float]]:
    """name -> (model config, embedding init std (0 keeps init_weights' own), Zipf exponent of
    the token draw (0: uniform))."""
    tiny, micro = get_recipe("tiny").model, get_recipe("micro").model
    two = replace(tiny, n_layers=2)
    out = {}
    for name, cfg in (("tiny", tiny), ("tiny-2-layer", two), ("micro", micro)):
        out[name] = (cfg, 0.0, 0.0)
        out[f"{name}, unit-std embeddings"] = (cfg, 1.0, 0.0)
    # Text is Zipfian: a few tokens are most of it. Copying frequent tokens is learned first.
    out["tiny, Zipf(1) tokens"] = (tiny, 0.0, 1.0)
    return out


def draw(vocab: int, lo: int, zipf: float, shape: tuple[int, int]) -> torch.Tensor:
    if not zipf:
        return torch.randint(lo, vocab, shape)
    w = torch.arange(1, vocab - lo + 1, dtype=torch.float) ** -zipf
    return lo + torch.multinomial(w, shape[0] * shape[1], replacement=True).view(shape)


def train(
    cfg: ModelConfig,
    embed_std: float,
    zipf: float,
    steps: int,
    n: int,
    batch: int,
    lr: float,
    seed: int,
):
    """Yields (step, first-copy loss, second-copy loss) every 25 steps."""
    torch.manual_seed(seed)
    model = CompassModel(cfg)
    model.init_weights(seed)
    if embed_std:
        with torch.no_grad():
            model.embed.weight.normal_(0.0, embed_std)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    lo = min(300, cfg.vocab_size // 4)  # skip the tokenizer's bytes and specials, as copy_gain
    for step in range(steps + 1):
        x = draw(cfg.vocab_size, lo, zipf, (batch, n))
        nll = token_nll(model, torch.cat([x, x], 1))
        opt.zero_grad()
        nll.mean().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0:
            yield step, float(nll[:, : n - 1].mean().detach()), float(nll[:, n:].mean().detach())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--n", type=int, default=64, help="tokens per copy")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=3e-3, help="the tiny main stage's peak lr")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*", help="shape names to run (default: all)")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    rows, t0 = [], time.time()
    for name, (cfg, embed_std, zipf) in shapes().items():
        if args.only and name not in args.only:
            continue
        formed, last, curve = None, None, []
        for step, first, second in train(
            cfg, embed_std, zipf, args.steps, args.n, args.batch, args.lr, args.seed
        ):
            print(f"{name}: step {step} first {first:.2f} second {second:.2f}", flush=True)
            last = (first, second)
            if step % 250 == 0:
                curve.append(f"{second:.2f}")
            if formed is None and first - second > 1.0:
                formed = step
        rows.append((name, cfg, embed_std, formed, last, curve))
    _write(args, rows, time.time() - t0)
    return 0


def _write(args, rows, seconds: float) -> None:
    lines = [
        "# Does the model class learn to copy? (repeated random tokens, fresh models)",
        "",
        f"Machine: {_cpu()}; torch threads {torch.get_num_threads()}; command "
        f"`.venv/bin/python bench/induction.py --steps {args.steps}`; "
        f"{seconds:.0f} s. Each model: its own `init_weights` (seed {args.seed}), AdamW lr "
        f"{args.lr:g}, batches of {args.batch} random sequences of {args.n} tokens written "
        "twice, tokens drawn uniformly unless the row says Zipf. Copying formed: the first step "
        "(every 25) where the second copy's loss is 1 nat below the first's.",
        "",
        "| model | layers × width, vocab | embedding init std | copying formed at step | "
        "second-copy loss every 250 steps | final first / second |",
        "|---|---|---|---|---|---|",
    ]
    for name, cfg, embed_std, formed, last, curve in rows:
        lines.append(
            f"| {name} | {cfg.n_layers} × {cfg.d_model}, {cfg.vocab_size} | "
            f"{embed_std or cfg.init_std:g} | {formed if formed is not None else 'no'} | "
            f"{' → '.join(curve)} | {last[0]:.2f} / {last[1]:.2f} |"
        )
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _cpu() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        name = next(ln for ln in text.splitlines() if "model name" in ln).split(":", 1)[1]
        flags = next(ln for ln in text.splitlines() if ln.startswith("flags")).split()
        ext = [f for f in ("avx2", "avx512f") if f in flags]
        return f"{name.strip()} ({' '.join(ext)}), {text.count('processor')} cores"
    except (OSError, StopIteration):
        return platform.machine()


if __name__ == "__main__":
    raise SystemExit(main())

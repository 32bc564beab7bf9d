"""Does pretraining see, and learn, what recall pages teach? Three probes on a finished run.

- packing: of the training documents that fit one sequence, the share the loader cuts in two,
  with plain end-to-end packing (``fit_lookahead=0``) and whole-document packing, and the
  padding the latter adds;
- pages: recall pages' real token lengths under the run's tokenizer, short and long;
- copying, per checkpoint: ``copy_gain`` (bench/niah_abf.py: a random sequence's loss minus its
  repeat's), on fresh short recall pages the loss per token of a value where it is first
  stated vs where it is asked for again (equal when the model does not copy), and on fresh
  order pages (``orders.py``) how much lower a packing slip's loss is below its own item list
  than below another order's (0 when the model does not copy).

    OMP_NUM_THREADS=1 .venv/bin/python bench/recall_probe.py --run runs/tiny [--ckpt CKPT ...]

prints the figures (the checkpoints default to the run's main and anneal ones).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
from pathlib import Path

import numpy as np
import torch
from niah_abf import copy_gain, token_nll

from compass.data.shards import LoaderSpec, PackedLoader
from compass.data.synth.orders import order_doc
from compass.data.synth.recall import recall_doc
from compass.data.synth.world import World
from compass.eval.backend import encode_text
from compass.languages import LANGS
from compass.model.io import load_model
from compass.tokenizer import load_tokenizer

VALUE = re.compile(r"\+\d+ \d{3}-\d{4}-\d{4}|[A-Z]{2,3}-\d{5}|\b\d{5,8}\b")  # recall.py's values


def cut_share(shards: Path, seq_len: int, lookahead: int, n_seq: int = 3600) -> tuple[float, float]:
    """(share of the documents that fit one sequence which the loader cuts in two, padding share
    of the tokens) over the first ``n_seq`` sequences. A fitting document is cut at most once:
    two pieces."""
    spec = LoaderSpec(seq_len=seq_len, batch_size=1, seed=1, fit_lookahead=lookahead)
    loader = PackedLoader(shards, spec)
    lengths, T = loader.index.lengths, seq_len + 1
    segments = pieces = 0
    for _ in range(n_seq):
        for doc, k in loader._take(T, False):
            if doc >= 0 and lengths[doc] <= T:
                segments += 1
                pieces += k < lengths[doc]
    docs = segments - pieces / 2
    return pieces / 2 / max(docs, 1), loader.padded / (n_seq * T)


def page_lengths(tok, world: World, max_tokens: int, per_lang: int = 20) -> np.ndarray:
    rng = random.Random(7)
    return np.array(
        [
            len(encode_text(tok, recall_doc(world, lang, rng, max_tokens)))
            for lang in LANGS
            for _ in range(per_lang)
        ]
    )


@torch.no_grad()
def value_losses(model, tok, world: World, seq_len: int, n: int = 48) -> tuple[float, float]:
    """Mean loss per token of recall values at their first and at their second occurrence."""
    rng = random.Random(999)
    first, again = [], []
    for i in range(n):
        doc = recall_doc(world, LANGS[i % len(LANGS)], rng, 240)
        ids = encode_text(tok, doc)[:seq_len]
        nll = token_nll(model, torch.tensor([ids]))[0]
        starts = np.cumsum([0] + [len(tok.decode([t])) for t in ids])[:-1]  # char offset per token
        for value in set(VALUE.findall(doc)):
            where = [m.start() for m in re.finditer(re.escape(value), doc)][:2]
            for k, at in enumerate(where if len(where) == 2 else []):
                toks = [j for j in range(1, len(ids)) if at <= starts[j] < at + len(value)]
                if toks:
                    (again if k else first).append(float(nll[[j - 1 for j in toks]].mean()))
    return statistics.mean(first), statistics.mean(again)


@torch.no_grad()
def slip_gain(model, tok, world: World, seq_len: int, n: int = 48) -> float:
    """Order pages (``orders.py``): the packing slip's loss per token below another order's item
    list minus below its own; 0 when the model does not copy the items from above."""
    rng = random.Random(998)

    def slip_loss(prefix: str, slip: str) -> float:
        head, tail = encode_text(tok, prefix + "\n\n"), encode_text(tok, slip)
        nll = token_nll(model, torch.tensor([(head + tail)[-seq_len:]]))[0]
        return float(nll[-len(tail) :].mean())

    gains = []
    for i in range(n):
        lang = LANGS[i % len(LANGS)]
        own, slip = order_doc(world, lang, rng).rsplit("\n\n", 1)
        other = order_doc(world, lang, rng).rsplit("\n\n", 1)[0]
        gains.append(slip_loss(other, slip) - slip_loss(own, slip))
    return statistics.mean(gains)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--ckpt", type=Path, nargs="*")
    ap.add_argument("--seq-len", type=int, default=256, help="the main stage's sequence length")
    args = ap.parse_args()
    shards = args.run / "tokenize" / "shards"
    for lookahead in (0, 64):
        cut, pad = cut_share(shards, args.seq_len, lookahead)
        print(f"fit_lookahead={lookahead}: fitting documents cut {cut:.3f}, padding {pad:.3f}")
    tok = load_tokenizer(args.run / "tokenizer")
    world = World.load(args.run / "generate" / "world.json")
    for max_tokens in (240, 1000):
        q = np.percentile(page_lengths(tok, world, max_tokens), [10, 50, 90]).round()
        print(f"recall pages of {max_tokens} estimated tokens: real 10/50/90% {q.tolist()}")
    ckpts = args.ckpt or [args.run / s / "ckpt" for s in ("pretrain_main", "pretrain_anneal")]
    for ckpt in ckpts:
        model = load_model(ckpt).eval()
        first, again = value_losses(model, tok, world, args.seq_len)
        print(
            f"{ckpt}: copy gain {copy_gain(model):+.3f} nats; recall value loss first "
            f"{first:.3f}, asked again {again:.3f} nats/token; order slip gain "
            f"{slip_gain(model, tok, world, args.seq_len):+.3f} nats/token"
        )


if __name__ == "__main__":
    main()

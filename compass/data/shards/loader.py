"""The packed training loader: documents -> fixed-length sequences, mixed by weight, per rank.

Each epoch is a seeded shuffle of the selected documents repeated by their weight (curation's
resampling weight × optional per-domain and per-language multipliers; the fractional part is a
seeded coin flip). The documents are laid end to end as one token stream and cut into sequences of
``seq_len + 1`` tokens (inputs and shifted labels). Every data-parallel rank walks the same
global stream and keeps its own slice of each global batch, so the data a step sees does not
depend on the number of ranks: 1 process with 2 accumulation steps sees exactly what 2 processes
with 1 step see. The position in the stream is three integers, so ``state_dict`` restores it
exactly.

With ``fit_lookahead`` on, a document no longer than a sequence is kept whole (a fact stated at
its top stays visible to the question at its bottom): when it does not fit the space left, a
document from a little further ahead that does (or a longer-than-a-sequence one, cut anyway) is
moved forward, so the mixture is the same and only the order shifts by a few places; where none
is near, the space is padded (EOS without labels: 4-5% of the tiny corpus's tokens at 256). The
moves are part of the position, so ``state_dict`` still restores it exactly; they are kept for
the current epoch, about one per sequence, which suits corpora of up to millions of sequences
per epoch (a larger one would want the epoch's plan recomputed on restore instead).

Yields dicts of int64 tensors [B, T]: ``input_ids``, ``labels`` (-100 where the next token opens
a new document and ``mask_doc_boundaries`` is on), ``doc_ids`` (per-sequence document number,
for attention isolation) and ``positions`` (restarting at 0 in every document segment).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from compass.data.shards.format import ShardError, open_split, read_meta

log = logging.getLogger(__name__)

PAD = -1  # the document number of a padding segment


@dataclass
class LoaderSpec:
    split: str = "train"
    seq_len: int = 256
    batch_size: int = 8  # sequences per rank per micro-batch
    seed: int = 0
    shuffle: bool = True
    use_weights: bool = True
    quality_min: float | None = None  # keep documents with quality >= this (the HQ subset)
    domain_weights: dict[str, float] | None = None
    lang_weights: dict[str, float] | None = None
    # Long-context mixture: this fraction of tokens from documents shorter than short_doc_len.
    short_doc_frac: float | None = None
    short_doc_len: int = 0
    mask_doc_boundaries: bool = False
    # Whole-document packing: a document that fits in a sequence is never cut across two. When
    # the next one does not fit the space left, the first document within this many places
    # ahead that does (or else a longer-than-a-sequence one, cut anyway) is moved forward to
    # fill it; 0 = plain end-to-end packing (it cuts 42% of the tiny corpus's fitting documents).
    fit_lookahead: int = 0


class PackedLoader:
    def __init__(self, shards: str | Path, spec: LoaderSpec, rank: int = 0, world_size: int = 1):
        self.root, self.spec, self.rank, self.world_size = Path(shards), spec, rank, world_size
        self.meta = read_meta(self.root)
        self.index = open_split(self.root, spec.split)
        self.docs, self.copies = self._select()
        self.epoch, self.cursor, self.offset, self.sequences = 0, 0, 0, 0
        self.padded = 0  # tokens of padding whole-document packing has added (fit_lookahead)
        self._order = self._epoch_order(0)
        self._moves: list[tuple[int, int]] = []  # this epoch's _move calls, replayed on restore

    # ---- document selection and weighting -------------------------------------------------
    def _select(self) -> tuple[np.ndarray, np.ndarray]:
        ix, s = self.index, self.spec
        keep = ix.lengths > 0
        if s.quality_min is not None:
            keep &= ix.quality >= s.quality_min
        docs = np.nonzero(keep)[0]
        if len(docs) == 0:
            raise ShardError(
                f"{self.root}: split '{s.split}' has no document with quality >= {s.quality_min} "
                "— lower the quality threshold (pretrain.<stage>.quality_min) or curate more data"
            )
        w = ix.weight[docs].astype(np.float64) if s.use_weights else np.ones(len(docs))
        for table, codes, mults in (
            ("domains", ix.domain, s.domain_weights),
            ("langs", ix.lang, s.lang_weights),
        ):
            if mults:
                mult = np.array([mults.get(n, 1.0) for n in self.meta[table]], dtype=np.float64)
                w = w * mult[codes[docs]]
        if s.short_doc_frac is not None:
            w = self._length_mix(docs, w)
        if w.sum() <= 0:
            raise ShardError(f"{self.root}: all selected documents have weight 0")
        return docs, w

    def _length_mix(self, docs: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Rescale weights so short documents carry ``short_doc_frac`` of the expected tokens."""
        lengths = self.index.lengths[docs].astype(np.float64)
        short = lengths < self.spec.short_doc_len
        mass_s, mass_l = (w * lengths)[short].sum(), (w * lengths)[~short].sum()
        if mass_s == 0 or mass_l == 0:
            log.warning(
                "long-context mix: %d short and %d long (>= %d tokens) documents — cannot reach "
                "a %.0f%% short-token share, using the natural mix",
                int(short.sum()),
                int((~short).sum()),
                self.spec.short_doc_len,
                100 * self.spec.short_doc_frac,
            )
            return w
        total, f = mass_s + mass_l, self.spec.short_doc_frac
        return np.where(short, w * f * total / mass_s, w * (1 - f) * total / mass_l)

    def _epoch_order(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.spec.seed, epoch])
        base = np.floor(self.copies)
        extra = rng.random(len(self.copies)) < (self.copies - base)
        order = np.repeat(self.docs, (base + extra).astype(np.int64))
        if self.spec.shuffle:
            rng.shuffle(order)
        if len(order) == 0:  # every weight < 1 and every coin lost: take one of each
            order = self.docs.copy()
        return order

    # ---- the token stream -----------------------------------------------------------------
    def _advance_doc(self) -> None:
        self.cursor, self.offset = self.cursor + 1, 0
        if self.cursor >= len(self._order):
            self.epoch, self.cursor = self.epoch + 1, 0
            self._order = self._epoch_order(self.epoch)
            self._moves = []

    def _move(self, src: int) -> None:
        """Bring the document at order position ``src`` forward to the cursor."""
        c = self.cursor
        self._order[c : src + 1] = np.roll(self._order[c : src + 1], 1)
        self._moves.append((c, src))

    def _fit(self, space: int) -> bool:
        """At a document's start with ``space`` tokens left in the sequence: if the document
        fits a sequence but not the space, move a nearby one that fits (or a long one, cut
        anyway) forward. False when none is near: the space is padded."""
        lengths, T = self.index.lengths, self.spec.seq_len + 1
        n = int(lengths[self._order[self.cursor]])
        if n <= space or n > T:
            return True
        ahead = self._order[self.cursor + 1 : self.cursor + 1 + self.spec.fit_lookahead]
        ahead_len = lengths[ahead]
        fits = np.nonzero(ahead_len <= space)[0]
        if len(fits) == 0:
            fits = np.nonzero(ahead_len > T)[0]
        if len(fits) == 0:
            return False
        self._move(self.cursor + 1 + int(fits[0]))
        return True

    def _take(self, n: int, materialise: bool) -> list[tuple[int, np.ndarray | int]]:
        """Consume ``n`` stream tokens; returns (doc, tokens) segments (or (doc, length))."""
        segments = []
        offsets = self.index.offsets
        while n > 0:
            if self.spec.fit_lookahead and self.offset == 0 and not self._fit(n):
                pad = np.full(n, self.meta["tokenizer"]["eos_id"], dtype=np.uint32)
                segments.append((PAD, pad if materialise else n))
                self.padded += n
                break
            doc = int(self._order[self.cursor])
            start, end = int(offsets[doc]) + self.offset, int(offsets[doc + 1])
            k = min(n, end - start)
            segments.append((doc, self.index.tokens[start : start + k] if materialise else k))
            n -= k
            self.offset += k
            if start + k == end:
                self._advance_doc()
        return segments

    def _sequence(self) -> dict[str, np.ndarray]:
        T = self.spec.seq_len
        chunk, doc_ids, pos, is_pad = [], [], [], []
        for i, (doc, toks) in enumerate(self._take(T + 1, True)):
            chunk.append(np.asarray(toks, dtype=np.int64))
            doc_ids.append(np.full(len(toks), i, dtype=np.int64))
            pos.append(np.arange(len(toks), dtype=np.int64))
            is_pad.append(np.full(len(toks), doc == PAD))
        tokens, docs, positions, pad = (np.concatenate(a) for a in (chunk, doc_ids, pos, is_pad))
        labels = tokens[1:].copy()
        labels[pad[1:]] = -100
        if self.spec.mask_doc_boundaries:
            labels[docs[1:] != docs[:-1]] = -100
        return {
            "input_ids": tokens[:-1],
            "labels": labels,
            "doc_ids": docs[:-1],
            "positions": positions[:-1],
        }

    def next_batch(self) -> dict[str, torch.Tensor]:
        """This rank's slice of the next global micro-batch (world_size × batch_size sequences)."""
        B, T = self.spec.batch_size, self.spec.seq_len
        seqs = []
        for r in range(self.world_size):
            for _ in range(B):
                if r == self.rank:
                    seqs.append(self._sequence())
                else:
                    self._take(T + 1, False)
                self.sequences += 1
        return {k: torch.from_numpy(np.stack([s[k] for s in seqs])) for k in seqs[0]}

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        return self.next_batch()

    # ---- exact resume ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "cursor": self.cursor,
            "offset": self.offset,
            "sequences": self.sequences,
            "padded": self.padded,
            "moves": [list(m) for m in self._moves],
            "spec": asdict(self.spec),
            "n_docs": self.index.n_docs,
        }

    def load_state_dict(self, state: dict) -> None:
        if (
            state.get("n_docs") != self.index.n_docs
            or state.get("spec", {}).get("seed") != self.spec.seed
        ):
            raise ShardError(
                f"{self.root}: the checkpoint's data-loader state was saved for another shard set "
                f"or seed (n_docs {state.get('n_docs')} vs {self.index.n_docs}); resume with the "
                "same --shards, or start a new run directory"
            )
        self.epoch, self.cursor, self.offset = state["epoch"], state["cursor"], state["offset"]
        self.sequences, self.padded = state["sequences"], state.get("padded", 0)
        self._order = self._epoch_order(self.epoch)
        self._moves = []
        for c, src in state.get("moves", []):
            self.cursor = c
            self._move(src)
        self.cursor = state["cursor"]

    @property
    def tokens_per_batch(self) -> int:
        return self.spec.batch_size * self.spec.seq_len

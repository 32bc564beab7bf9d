"""Pretraining as a :class:`~compass.train.stage.Stage`: packed shards in, next-token loss out.

The loader packs whole documents (and a padding tail), so with ``isolate_docs`` rows of
``SEGMENT_MIN_LEN`` tokens or more attend one document at a time (``doc_segments``): the
attention of the block-diagonal mask without the [B, T, T] scores it masks out, which grow with
T²; on shorter rows the gathers cost more than the mask saves (bench/results/pretrain_step.md).
The parallel engine (``compass.distributed``) builds its own masks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from torch import nn

from compass.data.shards import LoaderSpec, PackedLoader
from compass.distributed.env import DistInfo
from compass.pretrain.config import PretrainConfig, PretrainStageConfig
from compass.train.stage import Batch, LossOutput, count_label_tokens, lm_loss

SEGMENT_MIN_LEN = 512


class PretrainStage:
    def __init__(
        self,
        name: str,
        loader: PackedLoader,
        eval_sets: dict[str, Callable[[], Iterable[Batch]]],
        isolate_docs: bool,
    ):
        self.name, self.loader, self._eval, self.isolate_docs = (
            name,
            loader,
            eval_sets,
            isolate_docs,
        )

    def next_batch(self) -> Batch:
        return self.loader.next_batch()

    def loss_units(self, batch: Batch) -> int:
        return count_label_tokens(batch)

    def loss(self, model: nn.Module, batch: Batch) -> LossOutput:
        long_rows = batch["input_ids"].shape[1] >= SEGMENT_MIN_LEN
        return lm_loss(model, batch, self.isolate_docs, doc_segments=long_rows)

    def eval_sets(self) -> dict[str, Callable[[], Iterable[Batch]]]:
        return self._eval

    def state_dict(self) -> dict[str, Any]:
        return {"loader": self.loader.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.loader.load_state_dict(state["loader"])


def _eval_factory(
    shards: Path, spec: LoaderSpec, n_batches: int, info: DistInfo
) -> Callable[[], list[Batch]]:
    def make() -> list[Batch]:
        loader = PackedLoader(shards, spec, info.rank, info.world_size)
        return [loader.next_batch() for _ in range(n_batches)]

    return make


def build_stage(
    name: str, pcfg: PretrainConfig, shards: str | Path, info: DistInfo, seed: int
) -> PretrainStage:
    """The loader and evaluation sets of one pretraining stage, as its config describes them."""
    cfg: PretrainStageConfig = pcfg.stage(name)
    shards = Path(shards)
    mask = cfg.isolate_docs  # with isolation, the token after EOS cannot be predicted
    train = LoaderSpec(
        split="train",
        seq_len=cfg.seq_len,
        batch_size=cfg.micro_batch_size,
        seed=seed,
        quality_min=pcfg.hq_quality if cfg.hq_only else None,
        domain_weights=dict(cfg.domain_weights) or None,
        lang_weights=dict(cfg.lang_weights) or None,
        short_doc_frac=cfg.short_doc_frac,
        short_doc_len=cfg.short_doc_len,
        mask_doc_boundaries=mask,
        fit_lookahead=cfg.fit_lookahead,
    )
    evals = {}
    # Held-out text is packed as training packs it: whole documents, read from their start.
    base = dict(
        split="val",
        batch_size=cfg.micro_batch_size,
        shuffle=False,
        use_weights=False,
        mask_doc_boundaries=mask,
        fit_lookahead=cfg.fit_lookahead,
    )
    if cfg.eval_batches:
        evals["val"] = LoaderSpec(seq_len=cfg.seq_len, **base)
        evals["val_hq"] = LoaderSpec(seq_len=cfg.seq_len, quality_min=pcfg.hq_quality, **base)
        if cfg.eval_short_seq_len:
            evals["val_short"] = LoaderSpec(seq_len=cfg.eval_short_seq_len, **base)
    # eval_batches counts global batches, so the evaluated text is the same at any world size
    n_eval = cfg.eval_batches * cfg.accum_steps(info.world_size)
    factories = {k: _eval_factory(shards, s, n_eval, info) for k, s in evals.items()}
    loader = PackedLoader(shards, train, info.rank, info.world_size)
    return PretrainStage(f"pretrain.{name}", loader, factories, cfg.isolate_docs)

"""How a run is laid out over processes: ``train.parallel.{dp_shard, ep, pp, cp}`` and its checks.

The world is the product of the four sizes. ``dp_shard`` and ``ep`` ranks read different
sequences (together they are the data-parallel degree); ``cp`` ranks split one sequence; ``pp``
ranks split the layers. A layout that cannot work is refused before any process builds a model,
with the numbers that disagree, because a wrong layout otherwise fails minutes later in a
collective with a message about tensor sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from compass.config import Config, ConfigError
from compass.model.config import ModelConfig

# Compositions the engine implements and tests; anything else is refused by name.
SUPPORTED = {
    frozenset(),
    frozenset({"dp_shard"}),
    frozenset({"ep"}),
    frozenset({"pp"}),
    frozenset({"cp"}),
    frozenset({"dp_shard", "ep"}),
    frozenset({"dp_shard", "pp"}),
    frozenset({"pp", "cp"}),
}
DIMS = ("pp", "dp_shard", "cp", "ep")  # mesh order, outermost first: ep's all-to-all innermost


@dataclass
class ParallelConfig(Config):
    dp_shard: int = 1  # FSDP2 sharding degree (parameters, gradients, optimizer state)
    ep: int = 1  # routed experts sharded over this many ranks (all-to-all token exchange)
    pp: int = 1  # pipeline stages (contiguous layer ranges)
    cp: int = 1  # context parallel: each sequence split over this many ranks
    pp_schedule: str = "1f1b"  # gpipe | 1f1b | interleaved (torch.distributed.pipelining)
    pp_virtual: int = 2  # stages per rank under the interleaved schedule (rank r: r, r + pp, ...)
    activation_checkpoint: str = "none"  # none | full | selective, per transformer block

    @property
    def world_size(self) -> int:
        return self.dp_shard * self.ep * self.pp * self.cp

    @property
    def data_parallel(self) -> int:
        """How many different batches are read at once (ep ranks are data-parallel too)."""
        return self.dp_shard * self.ep

    @property
    def stages_per_rank(self) -> int:
        return self.pp_virtual if self.pp > 1 and self.pp_schedule == "interleaved" else 1

    def data_coords(self, rank: int) -> tuple[int, int]:
        """(which batch shard, how many shards) a global rank reads, in the mesh's order."""
        coords = {}
        for d in reversed(DIMS):
            rank, coords[d] = divmod(rank, getattr(self, d))
        return coords["dp_shard"] * self.ep + coords["ep"], self.data_parallel

    def active(self) -> frozenset[str]:
        return frozenset(d for d in DIMS if getattr(self, d) > 1)

    @property
    def enabled(self) -> bool:
        """True when the run needs the parallel engine rather than plain FSDP2 or one process
        (activation checkpointing alone applies to those too)."""
        return bool(self.active() - {"dp_shard"})

    def validate(self) -> None:
        errs = [
            f"train.parallel.{d}={getattr(self, d)} must be >= 1"
            for d in DIMS
            if getattr(self, d) < 1
        ]
        if self.pp_schedule not in ("gpipe", "1f1b", "interleaved"):
            errs.append(
                f"train.parallel.pp_schedule={self.pp_schedule!r}: choose gpipe, 1f1b "
                "or interleaved"
            )
        if self.pp_virtual < 1:
            errs.append(f"train.parallel.pp_virtual={self.pp_virtual} must be >= 1")
        if self.activation_checkpoint not in ("none", "full", "selective"):
            errs.append(
                f"train.parallel.activation_checkpoint={self.activation_checkpoint!r}: "
                "choose none, full or selective"
            )
        if errs:
            raise ConfigError("inconsistent train.parallel: " + "; ".join(errs))

    def check(
        self, model: ModelConfig, seq_len: int, world_size: int, micro_batches: int = 1
    ) -> None:
        """Refuse a layout that cannot run this model on this world, naming every number."""
        self.validate()
        errs = []
        if self.world_size != world_size:
            errs.append(
                f"dp_shard={self.dp_shard} × ep={self.ep} × pp={self.pp} × cp={self.cp} = "
                f"{self.world_size}, but the world has {world_size} processes"
            )
        if model.n_routed_experts % self.ep:
            errs.append(
                f"ep={self.ep} does not divide model.n_routed_experts={model.n_routed_experts}"
            )
        stages = self.pp * self.stages_per_rank
        if stages > model.n_layers:
            what = (
                f"pp={self.pp}"
                if stages == self.pp
                else (f"pp={self.pp} × pp_virtual={self.pp_virtual} = {stages} stages")
            )
            errs.append(f"{what} exceeds model.n_layers={model.n_layers} (a stage per layer)")
        if self.pp > 1 and model.tie_embeddings:
            errs.append(
                f"pp={self.pp} with model.tie_embeddings=true: the embedding (first stage) and "
                "the LM head (last stage) cannot share a weight across ranks"
            )
        if seq_len % self.cp:
            errs.append(f"cp={self.cp} does not divide the sequence length {seq_len}")
        if self.pp > 1 and micro_batches < self.pp:
            errs.append(
                f"pp={self.pp} needs at least {self.pp} micro-batches per step to fill the "
                f"pipeline, got {micro_batches} (raise train.grad_accum)"
            )
        combo = self.active()
        if combo not in SUPPORTED:
            names = " × ".join(sorted(combo))
            ok = ", ".join(" × ".join(sorted(c)) for c in SUPPORTED if len(c) == 2)
            errs.append(f"the composition {names} is not supported; supported pairs: {ok}")
        if errs:
            raise ConfigError("train.parallel layout refused: " + "; ".join(errs))


def parse_layout(text: str) -> ParallelConfig:
    """``"pp=4,ep=8"`` -> ParallelConfig (the planner's ``--layout``)."""
    pc = ParallelConfig()
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if key not in DIMS or not value.isdigit():
            raise ConfigError(
                f"--layout part {part!r}: write dim=N with dim one of {', '.join(DIMS)}"
            )
        setattr(pc, key, int(value))
    pc.validate()
    return pc

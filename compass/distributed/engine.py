"""The parallel engine: one optimizer step's forward, backward and gradient reduction on a mesh.

It computes exactly what one process computes for the same global batch with gradient
accumulation over the same micro-batches (``compass.train.loop``): per data replica
``Σ loss_sum · D / G + (α·aux + β·z) / accum``, where D is the data-parallel degree
(``dp_shard × ep``) and G the loss units of the whole global batch; gradients are then summed
over the ranks that hold a copy of each parameter and divided by D.

- dense parameters are copied on every rank of a pipeline stage; FSDP2 (``dp_shard``) takes the
  mean over its dimension itself, the engine sums over ``cp`` and ``ep``;
- routed experts (expert parallel) are copied over ``dp_shard × cp`` only: the all-to-all's
  backward has already summed every data rank's contribution onto the owner;
- context-parallel ranks hold parts of one sequence: their gradients add up.

Legend: B batch, S sequence, T local tokens, V vocab, L layers, E experts.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from compass.distributed.activation_checkpoint import apply_activation_checkpointing
from compass.distributed.context_parallel import apply_context_parallel, chunk_seq
from compass.distributed.expert_parallel import apply_expert_parallel, is_expert_param
from compass.distributed.layout import ParallelConfig
from compass.distributed.mesh import Mesh
from compass.distributed.pipeline import build_schedule
from compass.distributed.stage import Stage, StageGroup

Batch = dict[str, torch.Tensor]
IGNORE = -100


class ParallelEngine:
    def __init__(
        self,
        model: nn.Module,
        pc: ParallelConfig,
        mesh: Mesh,
        accum: int,
        seq_len: int,
        isolate_docs: bool = True,
        mixed_precision: bool = False,
    ):
        pc.check(model.config, seq_len, dist.get_world_size(), accum)
        self.pc, self.mesh, self.accum, self.isolate_docs = pc, mesh, accum, isolate_docs
        self.mixed_precision = mixed_precision
        self.n_layers, self.n_experts = model.config.n_layers, model.config.n_routed_experts
        self.fsdp = pc.dp_shard > 1
        # groups are created collectively: every rank asks for the same ones in the same order
        dense_dims = ("cp", "ep") if self.fsdp else ("dp_shard", "cp", "ep")
        self.dense_group = mesh.flat_group(dense_dims)
        self.expert_group = mesh.flat_group(("cp",) if self.fsdp else ("dp_shard", "cp"))
        self.dense_copies = mesh.group_size(dense_dims)
        self.expert_copies = mesh.group_size(("cp",) if self.fsdp else ("dp_shard", "cp"))
        ep_group = mesh.group("ep") if pc.ep > 1 else None
        apply_expert_parallel(model, mesh.local("ep"), pc.ep, ep_group)
        apply_context_parallel(model, mesh.group("cp") if pc.cp > 1 else None)
        apply_activation_checkpointing(model, pc.activation_checkpoint)
        v, rank = pc.stages_per_rank, mesh.local("pp")
        parts = [
            Stage(model, rank + k * pc.pp, pc.pp * v, mesh.local("cp"), pc.cp) for k in range(v)
        ]
        self.stage = StageGroup(parts)
        if self.fsdp:
            from compass.distributed.fsdp import shard_blocks

            for part in parts:  # each stage is the FSDP root of what it runs
                shard_blocks(part, mesh.mesh["dp_shard"], mixed_precision)
        self.stage.engine = self  # checkpoints of the stage go through the engine (reshard.py)
        self.schedule = None  # built at the first step, when the micro-batch shape is known
        self._coef = (0.0, 0.0, 1.0)  # α, β, D / G for the step in flight
        self._records: list[torch.Tensor] = []

    @property
    def module(self) -> nn.Module:
        """What the optimizer and checkpoints see: this rank's parameters, model names."""
        return self.stage

    # ---- one step ---------------------------------------------------------------------------
    def forward_backward(self, batches: list[Batch], alpha: float, beta: float) -> dict:
        """This data replica's micro-batches (full sequences) -> gradients + global statistics."""
        units = sum(int((b["labels"] != IGNORE).sum()) for b in batches)
        units_t = torch.tensor([float(units)])
        dist.all_reduce(units_t)  # every (pp, cp) rank of a replica counted the same batches
        global_units = float(units_t) / (self.pc.pp * self.pc.cp)
        self._coef = (alpha, beta, self.mesh.data_world / max(global_units, 1.0))
        self._records = []
        self._run(batches, train=True)
        return self._stats(global_units)

    @torch.no_grad()
    def evaluate(self, batches: list[Batch]) -> tuple[float, float, torch.Tensor]:
        """Global (loss sum, label tokens, expert counts [L, E]) of every replica's batches."""
        units = sum(int((b["labels"] != IGNORE).sum()) for b in batches)
        self._coef, self._records = (0.0, 0.0, 1.0), []
        self._run(batches, train=False)
        stats = self._stats(1.0)
        total = torch.tensor([float(units)])
        dist.all_reduce(total)
        return stats["loss"], float(total) / (self.pc.pp * self.pc.cp), stats["counts_LE"]

    def _run(self, batches: list[Batch], train: bool) -> None:
        self.stage.set_micro_batches([self._side(b) for b in batches])
        with self._autocast():
            if self.pc.pp > 1:
                self._pipeline_step(batches, forward_only=not train)
                return
            for i, b in enumerate(batches):
                if train and self.fsdp:  # reduce-scatter once, after the last micro-batch
                    self.stage.parts[0].set_requires_gradient_sync(i == len(batches) - 1)
                ids = chunk_seq(b["input_ids"], self.mesh.local("cp"), self.pc.cp)
                loss = self._loss(self.stage.parts[0](ids), self._labels(b))
                if train:
                    loss.backward()

    def _autocast(self):
        """bf16 compute on GPUs: FSDP2's MixedPrecisionPolicy when sharding, else autocast."""
        device = next(self.stage.parameters()).device.type
        on = self.mixed_precision and device == "cuda" and not self.fsdp
        return torch.autocast("cuda", torch.bfloat16, enabled=on)

    def _pipeline_step(self, batches: list[Batch], forward_only: bool = False) -> None:
        cp_rank = self.mesh.local("cp")
        B, S = batches[0]["input_ids"].shape
        if self.schedule is None:
            self.schedule = build_schedule(self, self.mesh, B, S // self.pc.cp)
        ids = torch.cat([chunk_seq(b["input_ids"], cp_rank, self.pc.cp) for b in batches])
        target = torch.cat([self._labels(b) for b in batches])
        args = (ids,) if self.stage.first else ()
        kwargs = {"target": target} if self.stage.last else {}
        run = self.schedule.eval if forward_only else self.schedule.step
        run(*args, **kwargs)

    def _side(self, b: Batch) -> dict:
        B, S = b["input_ids"].shape
        pos = b.get("positions")
        if pos is None or not self.isolate_docs:
            pos = torch.arange(S, device=b["input_ids"].device)[None].expand(B, S)
        docs = b.get("doc_ids") if self.isolate_docs else None
        return {"positions": pos, "doc_ids": docs}

    def _labels(self, b: Batch) -> torch.Tensor:
        return chunk_seq(b["labels"], self.mesh.local("cp"), self.pc.cp)

    def _loss(self, out: tuple[torch.Tensor, torch.Tensor], labels_BT: torch.Tensor):
        """The replica's share of the objective for one micro-batch (also the pipeline loss_fn)."""
        logits_BTV, moe = out
        alpha, beta, scale = self._coef
        ce = F.cross_entropy(
            logits_BTV.flatten(0, 1).float(),
            labels_BT.flatten(),
            ignore_index=IGNORE,
            reduction="sum",
        )
        aux, z = moe[0] / self.n_layers, moe[1] / self.n_layers
        self._records.append(torch.stack([ce, aux, z]).detach().double())
        return ce * scale + (alpha * aux + beta * z) / self.accum

    def _stats(self, global_units: float) -> dict:
        rec = torch.stack(self._records).sum(0) if self._records else torch.zeros(3).double()
        counts = torch.zeros(self.n_layers, self.n_experts, dtype=torch.float64)
        for part in self.stage.parts:
            if part.counts:
                counts[part.lo : part.hi] = torch.stack(part.counts).sum(0).double()
        flat = torch.cat([rec, counts.flatten()])
        dist.all_reduce(flat)
        n_micro = self.accum * self.mesh.data_world * self.pc.cp  # cp ranks repeat aux and z
        return {
            "loss": float(flat[0]) / max(global_units, 1.0),
            "aux": float(flat[1]) / n_micro,
            "z": float(flat[2]) / n_micro,
            "counts_LE": flat[3:].view(self.n_layers, self.n_experts),
        }

    # ---- gradients --------------------------------------------------------------------------
    def reduce_gradients(self) -> None:
        """Sum each gradient over the ranks holding the same parameter, divide by D."""
        div = self.mesh.data_world // (self.pc.dp_shard if self.fsdp else 1)
        for name, p in self.stage.named_parameters():
            if p.grad is None:  # an expert no token reached on this rank still joins the sum
                p.grad = torch.zeros_like(p)
            g = _local(p.grad)
            group = self.expert_group if is_expert_param(name) else self.dense_group
            if group is not None:
                dist.all_reduce(g, group=group)
            if div > 1:
                g.div_(div)

    def clip_gradients(self, max_norm: float) -> float:
        """Global L2 norm over every parameter once (copies counted once); clip like torch."""
        sq = torch.zeros(2, dtype=torch.float64)
        for name, p in self.stage.named_parameters():
            sq[int(is_expert_param(name))] += _local(p.grad).double().pow(2).sum()
        sq /= torch.tensor([self.dense_copies, self.expert_copies], dtype=torch.float64)
        dist.all_reduce(sq)
        total = float(sq.sum().sqrt())
        coef = min(max_norm / (total + 1e-6), 1.0)
        if coef < 1.0:
            for p in self.stage.parameters():
                _local(p.grad).mul_(coef)
        return total


def _local(t: torch.Tensor) -> torch.Tensor:
    """The rank's own shard of a (possibly FSDP/DTensor) tensor, as a plain tensor view."""
    return t.to_local() if hasattr(t, "to_local") else t


def build_engine(model: nn.Module, train_cfg, info) -> ParallelEngine:
    """The engine for the Trainer: the mesh from ``train.parallel``, the weights from rank 0.

    ``model`` holds real weights on rank 0 only (a fresh run: the others built it on the meta
    device) or nowhere (a resume: the checkpoint fills every rank's pieces). Each rank
    materialises the full model on its device, takes rank 0's weights by broadcast, then keeps
    only its pieces — transiently the whole model per process, which a host holding 8 ranks of
    the 30B model must have the memory for.
    """
    from compass.distributed.env import broadcast_object
    from compass.distributed.mesh import build_mesh

    pc = train_cfg.parallel
    # refused before the mesh exists: a mesh of the wrong size fails with torch's own message
    pc.check(model.config, train_cfg.seq_len, info.world_size, train_cfg.grad_accum)
    mesh = build_mesh(pc, info.device.type)
    has_weights = broadcast_object(
        info.is_main and not any(p.is_meta for p in model.parameters()), info
    )
    if any(p.is_meta for p in model.parameters()):
        model.to_empty(device=info.device)
    else:
        model.to(info.device)
    if has_weights:
        with torch.no_grad():
            for t in model.state_dict().values():
                dist.broadcast(t, src=0)
    return ParallelEngine(
        model,
        pc,
        mesh,
        train_cfg.grad_accum,
        train_cfg.seq_len,
        train_cfg.isolate_docs,
        train_cfg.mixed_precision,
    )

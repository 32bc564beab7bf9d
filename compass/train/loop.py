"""The one training loop. A :class:`~compass.train.stage.Stage` supplies batches and a loss; the
:class:`Trainer` owns the optimizer, schedules, accumulation, clipping, MoE loss coefficients,
evaluation, checkpoints and logging — for pretraining, SFT, reward models and DPO alike.

One optimizer step: fetch ``grad_accum`` micro-batches, count their loss units across all ranks,
backprop each micro-batch's ``loss_sum × world / global_units + (α·aux + β·z) / grad_accum``
(FSDP averages gradients over ranks, so the result is the gradient of the global-batch mean),
clip to ``grad_clip``, step AdamW at ``lr_at(step)``. A non-finite loss or gradient skips the
update (logged, counted); too many skipped steps stop the run with a clear error.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from compass.config import ConfigError
from compass.distributed.activation_checkpoint import apply_activation_checkpointing
from compass.distributed.env import DistInfo, all_reduce_sum
from compass.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from compass.train.config import TrainConfig
from compass.train.metrics import MetricsSink, expert_load_stats, plot_loss, read_metrics, step_line
from compass.train.optim import build_adamw
from compass.train.schedule import coef_at, lr_at
from compass.train.stage import Batch, Stage
from compass.utils.progress import progress_bar

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """The run cannot continue (e.g. repeated non-finite losses); the message says why."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    losses: list[float] = field(default_factory=list)  # train loss per step run in this call
    eval: dict[str, float] = field(default_factory=dict)
    load_max_mean: list[float] = field(default_factory=list)  # last step, per layer
    eval_load_max_mean: list[float] = field(default_factory=list)  # final "val" eval, per layer
    tokens_per_s: float = 0.0
    wall_s: float = 0.0
    skipped_steps: int = 0


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        stage: Stage,
        config: TrainConfig,
        run_dir: str | Path,
        info: DistInfo | None = None,
        meta: dict[str, Any] | None = None,
    ):
        self.info = info or DistInfo()
        self.cfg, self.stage, self.run_dir = _resolve_accum(config, self.info), stage, Path(run_dir)
        self.model_config = model.config
        self.engine = None  # the parallel engine (expert / pipeline / context parallel)
        if config.parallel.enabled:
            model = self._build_engine(model, stage)
        else:  # block checkpointing applies to one process and to FSDP2 alike
            apply_activation_checkpointing(model, config.parallel.activation_checkpoint)
        if self.engine is not None:
            pass  # placed and sharded by the engine
        elif self.info.distributed:
            from compass.distributed.fsdp import is_sharded, shard_from_rank0

            if not is_sharded(model):  # full weights on rank 0, meta elsewhere (or everywhere)
                model = shard_from_rank0(model, self.info, config.mixed_precision)
        elif any(p.is_meta for p in model.parameters()):  # resuming: the checkpoint fills it
            model = model.to_empty(device=self.info.device)
        else:
            model = model.to(self.info.device)
        self.model = model
        self.optim = build_adamw(model, config)
        self.meta = {"stage": stage.name, "config": config.to_dict(), **(meta or {})}
        self.step, self.bad_steps, self.tokens_seen = 0, 0, 0
        self.eval_load_max_mean: list[float] = []  # per layer, from the last evaluation
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.sink = MetricsSink(self.run_dir, self.info.is_main, config.tensorboard)

    def _build_engine(self, model: nn.Module, stage: Stage) -> nn.Module:
        from compass.distributed.engine import build_engine

        if not self.info.distributed:
            raise ConfigError(
                "train.parallel sets ep, pp or cp above 1: launch with torchrun and "
                f"--nproc-per-node {self.cfg.parallel.world_size}, or set them to 1"
            )
        if not stage.name.startswith("pretrain"):
            # the engine computes the LM loss itself on fixed-length batches sharded per data
            # replica: pretraining's loader; SFT's dynamic padding and the pairwise losses differ
            raise ConfigError(
                f"train.parallel ep/pp/cp train the pretraining stages; {stage.name} runs on "
                "one process or FSDP2 (leave train.parallel.ep/pp/cp at 1)"
            )
        self.engine = build_engine(model, self.cfg, self.info)
        return self.engine.module

    # ---- resume ---------------------------------------------------------------------------
    def resume(self) -> bool:
        """Restore the newest complete checkpoint in ``run_dir``, if any."""
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is None:
            return False
        state = load_checkpoint(ckpt, self.model, self.optim, self.info)
        self.step, self.bad_steps = state["step"], state["bad_steps"]
        self.tokens_seen = state["tokens_seen"]
        self.stage.load_state_dict(state["stage"])
        if self.info.is_main:  # drop metrics of steps that ran after this checkpoint
            kept = [r for r in read_metrics(self.run_dir) if r["step"] <= self.step]
            (self.run_dir / "metrics.jsonl").write_text("".join(_json_line(r) for r in kept))
        log.info("resumed from %s at step %d", ckpt, self.step)
        return True

    def save(self) -> Path:
        state = {
            "step": self.step,
            "bad_steps": self.bad_steps,
            "tokens_seen": self.tokens_seen,
            "stage": self.stage.state_dict(),
        }
        meta = {**self.meta, "model_config": self.model_config.to_dict()}
        return save_checkpoint(
            self.run_dir,
            self.step,
            self.model,
            self.optim,
            state,
            meta,
            self.cfg.keep_last,
            self.info,
        )

    # ---- one optimizer step ---------------------------------------------------------------
    def _to_device(self, batch: Batch) -> Batch:
        return {k: v.to(self.info.device) for k, v in batch.items()}

    def train_step(self) -> dict[str, Any]:
        cfg, model, accum = self.cfg, self.model, self.cfg.grad_accum
        lr = lr_at(self.step, cfg)
        alpha, beta = coef_at(self.step, cfg, cfg.aux_coef), coef_at(self.step, cfg, cfg.z_coef)
        for g in self.optim.param_groups:
            g["lr"] = lr
        batches = [self._to_device(self.stage.next_batch()) for _ in range(accum)]
        if self.engine is not None:
            return self._finish_step(
                self._engine_backward(batches, alpha, beta), batches, lr, alpha, beta
            )
        units = sum(self.stage.loss_units(b) for b in batches)
        global_units = all_reduce_sum(torch.tensor(float(units)), self.info).item()
        scale = self.info.world_size / max(global_units, 1.0)
        stats = torch.zeros(3, dtype=torch.float64)  # loss_sum, aux, z
        counts = None
        for i, batch in enumerate(batches):
            if self.info.distributed and accum > 1:
                model.set_requires_gradient_sync(i == accum - 1)
            with self._autocast():
                out = self.stage.loss(model, batch)
            loss = out.loss_sum * scale
            if out.aux_loss is not None:
                loss = loss + (alpha * out.aux_loss + beta * out.z_loss) / accum
                stats[1:] += torch.stack([out.aux_loss, out.z_loss]).detach().double().cpu()
            stats[0] += out.loss_sum.detach().double().cpu()
            loss.backward()
            if out.expert_counts_LE is not None:
                c = out.expert_counts_LE.detach().double().cpu()
                counts = c if counts is None else counts + c
        all_reduce_sum(stats, self.info)
        # foreach: one multi-tensor norm and scale instead of a Python loop over the parameters
        # (torch only defaults to it on GPUs); FSDP2's DTensor gradients keep torch's choice.
        grad_norm = torch.nn.utils.clip_grad_norm_(
            model.parameters(), cfg.grad_clip, foreach=None if self.info.distributed else True
        )
        if hasattr(grad_norm, "full_tensor"):
            grad_norm = grad_norm.full_tensor()
        n_micro = accum * self.info.world_size
        summary = {
            "loss": float(stats[0]) / max(global_units, 1.0),
            "aux": float(stats[1]) / n_micro,
            "z": float(stats[2]) / n_micro,
            "grad_norm": float(grad_norm),
            "counts": None if counts is None else all_reduce_sum(counts, self.info),
        }
        return self._finish_step(summary, batches, lr, alpha, beta)

    def _engine_backward(self, batches: list[Batch], alpha: float, beta: float) -> dict:
        stats = self.engine.forward_backward(batches, alpha, beta)
        self.engine.reduce_gradients()
        stats["grad_norm"] = self.engine.clip_gradients(self.cfg.grad_clip)
        stats["counts"] = stats.pop("counts_LE")
        return stats

    def _finish_step(
        self, summary: dict, batches: list[Batch], lr: float, alpha: float, beta: float
    ) -> dict[str, Any]:
        """Log the step's figures, then step the optimizer unless they are not finite."""
        replicas = self.engine.mesh.data_world if self.engine else self.info.world_size
        grad_norm = summary["grad_norm"]
        record = {
            "kind": "train",
            "step": self.step + 1,
            "loss": summary["loss"],
            "aux": summary["aux"],
            "z": summary["z"],
            "aux_coef": alpha,
            "z_coef": beta,
            "grad_norm": grad_norm,
            "lr": lr,
            "tokens": sum(int(b["input_ids"].numel()) for b in batches if "input_ids" in b)
            * replicas,
        }
        if summary["counts"] is not None:
            record.update(expert_load_stats(summary["counts"]))
        finite = torch.isfinite(torch.tensor([record["loss"], grad_norm])).all()
        if finite:
            self.optim.step()
        else:
            self._skip(record)
        self.optim.zero_grad(set_to_none=True)
        self.step += 1
        self.tokens_seen += record["tokens"]
        return record

    def _autocast(self):
        """bf16 autocast for one GPU; under FSDP its MixedPrecisionPolicy does this instead."""
        on = self.cfg.mixed_precision and self.info.device.type == "cuda"
        return torch.autocast("cuda", torch.bfloat16, enabled=on and not self.info.distributed)

    def _skip(self, record: dict[str, Any]) -> None:
        self.bad_steps += 1
        record["skipped"] = True
        log.warning(
            "step %d: non-finite loss %.4g or grad norm %.4g — update skipped (%d/%d allowed)",
            record["step"],
            record["loss"],
            record["grad_norm"],
            self.bad_steps,
            self.cfg.max_bad_steps,
        )
        if self.bad_steps >= self.cfg.max_bad_steps:
            self.sink.write(record)
            raise TrainingError(
                f"{self.bad_steps} steps had a non-finite loss or gradient (last at step "
                f"{record['step']}); stopping. Lower the learning rate (train.lr), check the data, "
                f"or raise train.max_bad_steps; the last good checkpoint is in {self.run_dir}"
            )

    # ---- evaluation -----------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        results, counts = {}, None
        eval_sets = self.stage.eval_sets()
        # Expert load over one set: the broad "val" mixture when there is one (HQ overlaps it).
        load_set = "val" if "val" in eval_sets else next(iter(eval_sets), None)
        for name, make in eval_sets.items():
            batches = [self._to_device(b) for b in make()]
            loss_sum, units, set_counts = (
                self._engine_eval(batches) if self.engine else self._eval_set(batches)
            )
            results[f"eval/{name}"] = loss_sum / max(units, 1.0)
            if name == load_set:
                counts = set_counts
        if counts is not None:
            # Load over held-out batches: one training batch is a handful of documents whose
            # language and domain sway the routing, so its max/mean overstates the imbalance.
            per_layer = expert_load_stats(counts)["load_max_mean"]
            results["eval/load_max_mean"] = max(per_layer)
            self.eval_load_max_mean = per_layer
        self.model.train()
        return results

    def _eval_set(self, batches: list[Batch]) -> tuple[float, float, torch.Tensor | None]:
        """Global (loss sum, loss units, expert counts) of one evaluation set."""
        tot, counts = torch.zeros(2, dtype=torch.float64), None
        for batch in batches:
            out = self.stage.loss(self.model, batch)
            tot += torch.tensor([float(out.loss_sum), float(self.stage.loss_units(batch))])
            if out.expert_counts_LE is not None:
                c = out.expert_counts_LE.detach().double().cpu()
                counts = c if counts is None else counts + c
        all_reduce_sum(tot, self.info)
        return (
            float(tot[0]),
            float(tot[1]),
            None if counts is None else all_reduce_sum(counts, self.info),
        )

    def _engine_eval(self, batches: list[Batch]) -> tuple[float, float, torch.Tensor]:
        """The engine evaluates a step's worth of micro-batches at a time (a pipeline's
        schedule is built for that many)."""
        loss_sum, units, counts, k = 0.0, 0.0, 0, self.cfg.grad_accum
        for i in range(0, len(batches), k):
            part = self.engine.evaluate(batches[i : i + k])
            loss_sum, units, counts = loss_sum + part[0], units + part[1], counts + part[2]
        return loss_sum, units, counts

    # ---- the run --------------------------------------------------------------------------
    def fit(self, until: int | None = None) -> TrainResult:
        """Train to ``config.steps`` (or stop early at step ``until`` with a checkpoint)."""
        cfg = self.cfg
        stop = min(cfg.steps, until) if until is not None else cfg.steps
        self.resume()
        self.model.train()
        result = TrainResult(self.run_dir, self.step)
        bar = progress_bar(
            total=cfg.steps,
            initial=self.step,
            desc=self.stage.name,
            unit="step",
            disable=not self.info.is_main,
            mininterval=2.0,
            leave=False,
        )
        t0, start_step, saved_at = time.time(), self.step, self.step
        start_tokens = self.tokens_seen
        while self.step < stop:
            t = time.time()
            r = self.train_step()
            r["tok_s"] = r["tokens"] / max(time.time() - t, 1e-9)
            r["eta_s"] = (time.time() - t0) / (self.step - start_step) * (cfg.steps - self.step)
            self.sink.write(r)
            result.losses.append(r["loss"])
            result.load_max_mean = r.get("load_max_mean", [])
            bar.update(1)
            if self.info.is_main and (
                self.step % cfg.log_every == 0 or self.step in (1, cfg.steps)
            ):
                log.info("%s", step_line(r, cfg.steps))
            if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < cfg.steps:
                self._log_eval(self.evaluate())
            if cfg.ckpt_every and self.step % cfg.ckpt_every == 0:
                self.save()
                saved_at = self.step
        bar.close()
        if self.step < cfg.steps:  # stopped early on request
            if saved_at != self.step:
                self.save()
            result.step = self.step
            return result
        result.eval = self.evaluate()
        result.eval_load_max_mean = self.eval_load_max_mean
        self._log_eval(result.eval)
        if saved_at != self.step or latest_checkpoint(self.run_dir) is None:
            self.save()
        result.step, result.skipped_steps = self.step, self.bad_steps
        result.wall_s = time.time() - t0
        result.tokens_per_s = (self.tokens_seen - start_tokens) / max(result.wall_s, 1e-9)
        if self.info.is_main:
            plot_loss(self.run_dir)
        self.sink.close()
        return result

    def _log_eval(self, results: dict[str, float]) -> None:
        if not results:
            return
        record = {"kind": "eval", "step": self.step, **results}
        if "eval/load_max_mean" in results:
            record["eval_load_max_mean"] = self.eval_load_max_mean
        self.sink.write(record)
        if self.info.is_main:
            log.info(
                "eval step %d | %s",
                self.step,
                " | ".join(f"{k[5:]} {v:.4f}" for k, v in results.items()),
            )


def _resolve_accum(cfg: TrainConfig, info: DistInfo) -> TrainConfig:
    if cfg.global_batch <= 0:
        return cfg
    resolved = type(cfg).from_dict(cfg.to_dict())
    resolved.grad_accum = cfg.accum_steps(info.world_size)
    return resolved


def _json_line(record: dict[str, Any]) -> str:
    import json

    return json.dumps(record) + "\n"

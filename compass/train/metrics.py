"""Training telemetry: the fixed step line, ``metrics.jsonl``, expert-load statistics, the plot.

``metrics.jsonl`` gets one JSON object per optimizer step (and one per evaluation), always; the
step line goes to the log every ``log_every`` steps; a progress bar (``utils/progress.py``) shows
progress. TensorBoard is an optional sink, off by default.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

METRICS = "metrics.jsonl"


def expert_load_stats(counts_LE: torch.Tensor) -> dict[str, list[float]]:
    """Per layer: max/mean load (1.0 = perfectly balanced) and routing entropy / log(E)
    (1 = uniform)."""
    c = counts_LE.double()
    mean = c.mean(-1).clamp_min(1e-12)
    p = c / c.sum(-1, keepdim=True).clamp_min(1e-12)
    ent = -(p * p.clamp_min(1e-12).log()).sum(-1) / math.log(c.shape[-1])
    return {
        "load_max_mean": [round(float(x), 4) for x in c.max(-1).values / mean],
        "load_entropy": [round(float(x), 4) for x in ent],
    }


def format_eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def step_line(r: dict[str, Any], total: int) -> str:
    """The one fixed step line every stage prints."""
    return (
        f"step {r['step']:>6d}/{total} | loss {r['loss']:.4f} | aux {r['aux']:.4f} | "
        f"z {r['z']:.3f} | gnorm {r['grad_norm']:.3f} | lr {r['lr']:.2e} | "
        f"tok/s {r['tok_s']:.0f} | eta {format_eta(r['eta_s'])}"
    )


class MetricsSink:
    """Appends to ``metrics.jsonl`` (rank 0 only) and optionally mirrors to TensorBoard."""

    def __init__(self, run_dir: Path, enabled: bool, tensorboard: bool = False):
        self.path = run_dir / METRICS
        self.enabled = enabled
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tb"))
            except ImportError:
                log.warning("tensorboard is not installed; train.tensorboard ignored")

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, int | float) and k != "step":
                    self.tb.add_scalar(k, v, record["step"])

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_loss(run_dir: str | Path) -> Path | None:
    """``loss.png``: training loss per step and every evaluation set's loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run_dir)
    train = [(r["step"], r["loss"]) for r in records if "loss" in r and r.get("kind") == "train"]
    if not train:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(*zip(*train), label="train", lw=1)
    evals: dict[str, list] = {}
    for r in records:
        if r.get("kind") == "eval":
            for k, v in r.items():
                if k.startswith("eval/"):
                    evals.setdefault(k, []).append((r["step"], v))
    for k, pts in evals.items():
        ax.plot(*zip(*pts), marker="o", label=k)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    out = Path(run_dir) / "loss.png"
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out

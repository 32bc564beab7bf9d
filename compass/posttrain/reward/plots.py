"""The Best-of-N curve: accuracy of the reward model's pick vs N, against the pass@N ceiling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compass.eval.plots import _pyplot


def best_of_n_plot(bon: dict[str, Any], path: Path) -> Path:
    """One line per reward model (the soup bold), pass@N dashed; N on a log2 axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for name, acc in bon.items():
        if not isinstance(acc, dict) or name == "pass_at_n":
            continue
        ns = sorted(acc, key=int)
        soup = name == "soup"
        ax.plot(
            [int(n) for n in ns],
            [acc[n] for n in ns],
            marker="o",
            label=name,
            lw=2.5 if soup else 1,
            alpha=1 if soup else 0.6,
            zorder=3 if soup else 2,
        )
    ceiling = bon["pass_at_n"]
    ns = sorted(ceiling, key=int)
    ax.plot([int(n) for n in ns], [ceiling[n] for n in ns], "k--", label="pass@N (ceiling)")
    ax.set_xscale("log", base=2)
    ax.set_xticks([int(n) for n in ns], ns)
    ax.set_ylim(0, 1)
    ax.set_xlabel("N (samples per prompt)")
    ax.set_ylabel("accuracy of the pick")
    ax.set_title(f"Best-of-N, {bon.get('task', '')} ({bon.get('prompts', '?')} prompts)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

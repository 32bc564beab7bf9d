"""Plots of the evaluation reports: the needle-in-a-haystack heatmap (report Fig. 9) and the
throughput / latency curves over concurrency (report Figs. 15–16)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def heatmap(
    acc: list[list[float]], lengths: list[int], depths: list[float], path: Path, title: str
) -> Path:
    """Rows: needle depth (0 % at the top, as in Fig. 9); columns: context length in tokens."""
    return heatmaps({title: acc}, lengths, depths, path)


def heatmaps(
    panels: dict[str, list[list[float]]], lengths: list[int], depths: list[float], path: Path
) -> Path:
    """One heatmap per panel title, side by side on a shared colour scale (before / after)."""
    plt = _pyplot()
    w, h = max(5, 0.7 * len(lengths) + 2), max(3, 0.4 * len(depths) + 1.5)
    fig, axes = plt.subplots(1, len(panels), figsize=(w * len(panels), h), squeeze=False)
    for k, (ax, (title, acc)) in enumerate(zip(axes[0], panels.items())):
        im = ax.imshow(acc, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(lengths)), [str(n) for n in lengths], rotation=45, fontsize=8)
        ax.set_yticks(range(len(depths)), [f"{d:g}%" for d in depths], fontsize=8)
        for i, row in enumerate(acc):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xlabel("context length (tokens)")
        if k == 0:  # the panels share their rows
            ax.set_ylabel("needle depth")
        ax.set_title(title)
    fig.colorbar(im, ax=list(axes[0]), label="retrieval accuracy")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def concurrency_plot(rows: list[dict], path: Path, title: str) -> Path:
    """Output tokens/s and mean / p99 latency against concurrency, on log-2 x axes."""
    plt = _pyplot()
    conc = [r["concurrency"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.plot(conc, [r["output_tokens_per_s"] for r in rows], marker="o")
    a.set_ylabel("output tokens / s")
    b.plot(conc, [r["latency_mean_s"] for r in rows], marker="o", label="mean")
    b.plot(conc, [r["latency_p99_s"] for r in rows], marker="s", label="p99")
    b.set_ylabel("request latency (s)")
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrency")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

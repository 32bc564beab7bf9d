"""Evaluation reports: ``results.json``, a markdown table laid out like the report's Tables 6–8
(rows: tasks; columns: models), a per-language table, and a bar chart."""

from __future__ import annotations

import json
from pathlib import Path

from compass.eval.harness import TaskResult
from compass.utils.io import atomic_write_json, atomic_write_text


def main_metric(r: TaskResult) -> str:
    return "acc" if r.kind == "mc" else "exact_match"


def write_results(results: dict[str, list[TaskResult]], out_dir: str | Path) -> dict[str, Path]:
    """``results`` maps a model/checkpoint label to its task results."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        out / "results.json", {m: [r.to_dict() for r in rs] for m, rs in results.items()}
    )
    atomic_write_text(out / "results.md", markdown(results))
    for model, rs in results.items():
        with open(out / f"samples_{_slug(model)}.jsonl", "w", encoding="utf-8") as f:
            for r in rs:
                for s in r.samples:
                    f.write(json.dumps({"task": r.task, **s}, ensure_ascii=False) + "\n")
    paths = {"json": out / "results.json", "md": out / "results.md"}
    png = bar_chart(results, out / "results.png")
    if png:
        paths["png"] = png
    return paths


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in s)


def markdown(results: dict[str, list[TaskResult]]) -> str:
    models = list(results)
    tasks = list(dict.fromkeys(r.task for rs in results.values() for r in rs))
    by = {(m, r.task): r for m, rs in results.items() for r in rs}
    lines = [
        "| task | metric | n | " + " | ".join(models) + " |",
        "|---|---|---|" + "---|" * len(models),
    ]
    for t in tasks:
        first = next(by[(m, t)] for m in models if (m, t) in by)
        metric = main_metric(first)
        cells = []
        for m in models:
            r = by.get((m, t))
            cells.append(
                f"{r.metrics[metric]:.3f} ± {r.metrics[metric + '_stderr']:.3f}" if r else "—"
            )
        lines.append(f"| {t} | {metric} | {first.n} | " + " | ".join(cells) + " |")
    langs = sorted({lang for rs in results.values() for r in rs for lang in r.by_lang})
    if len(langs) > 1:
        lines += [
            "",
            "Mean of the main metric over tasks, per language:",
            "",
            "| model | " + " | ".join(langs) + " |",
            "|---|" + "---|" * len(langs),
        ]
        for m, rs in results.items():
            cells = []
            for lang in langs:
                vals = [r.by_lang[lang][main_metric(r)] for r in rs if lang in r.by_lang]
                cells.append(f"{sum(vals) / len(vals):.3f}" if vals else "—")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def bar_chart(results: dict[str, list[TaskResult]], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    models = list(results)
    tasks = list(dict.fromkeys(r.task for rs in results.values() for r in rs))
    by = {(m, r.task): r for m, rs in results.items() for r in rs}
    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(6, len(tasks) * 0.9), 4))
    for i, m in enumerate(models):
        xs = [j + i * width for j in range(len(tasks))]
        ys = [by[(m, t)].metrics[main_metric(by[(m, t)])] if (m, t) in by else 0 for t in tasks]
        ax.bar(xs, ys, width, label=m)
    ax.set_xticks([j + width * (len(models) - 1) / 2 for j in range(len(tasks))])
    ax.set_xticklabels(tasks, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

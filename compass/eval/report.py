"""Evaluation reports: ``results.json``, a markdown table laid out like the report's Tables 6–8
(rows: tasks and their mean; columns: models, or models and forms as "label [form]", each cell
mean ± standard error), a per-language table, a bar chart with standard-error bars, and the models
or tasks that could not be scored, with the reason."""

from __future__ import annotations

import json
from pathlib import Path

from compass.eval.harness import TaskResult
from compass.utils.io import atomic_write_json, atomic_write_text


def main_metric(r: TaskResult) -> str:
    return "acc" if r.kind == "mc" else "exact_match"


def write_results(
    results: dict[str, list[TaskResult]],
    out_dir: str | Path,
    failures: dict[str, str] | None = None,
) -> dict[str, Path]:
    """``results`` maps a model/checkpoint label to its task results; ``failures`` a model that
    failed to its reason (written to ``failed.json`` and under the table)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        out / "results.json", {m: [r.to_dict() for r in rs] for m, rs in results.items()}
    )
    if failures:
        atomic_write_json(out / "failed.json", failures)
    atomic_write_text(out / "results.md", markdown(results, failures))
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


def _cell(r: TaskResult | None, metric: str) -> str:
    if r is None:
        return "—"
    if r.skipped:
        return "skipped"
    return f"{r.metrics[metric]:.3f} ± {r.metrics[metric + '_stderr']:.3f}"


def markdown(results: dict[str, list[TaskResult]], failures: dict[str, str] | None = None) -> str:
    models = list(results)
    tasks = list(dict.fromkeys(r.task for rs in results.values() for r in rs))
    by = {(m, r.task): r for m, rs in results.items() for r in rs}
    lines = [
        "| task | metric | n | " + " | ".join(models) + " |",
        "|---|---|---|" + "---|" * len(models),
    ]
    for t in tasks:
        rows = [by[(m, t)] for m in models if (m, t) in by]
        first = next((r for r in rows if not r.skipped), rows[0])
        metric = main_metric(first)
        cells = [_cell(by.get((m, t)), metric) for m in models]
        lines.append(f"| {t} | {metric} | {first.n} | " + " | ".join(cells) + " |")
    if len(tasks) > 1:
        cells = [_mean_cell(results[m], len(tasks)) for m in models]
        lines.append(f"| mean over tasks | main | {len(tasks)} | " + " | ".join(cells) + " |")
    lines += _per_language(results)
    notes = _skipped_notes(results)
    notes += [f"- {m}: failed — {why}" for m, why in (failures or {}).items()]
    if notes:
        lines += ["", "Not scored:", "", *notes]
    return "\n".join(lines) + "\n"


def _skipped_notes(results: dict[str, list[TaskResult]]) -> list[str]:
    """One line per model and reason, naming its tasks (a form that skips every option task
    would otherwise fill a line per task)."""
    notes = []
    for m, rs in results.items():
        by_reason: dict[str, list[str]] = {}
        for r in rs:
            if r.skipped:
                by_reason.setdefault(r.skipped, []).append(r.task)
        notes += [f"- {m}, {', '.join(ts)}: skipped — {why}" for why, ts in by_reason.items()]
    return notes


def _mean_cell(rs: list[TaskResult], n_tasks: int) -> str:
    """The unweighted mean of the main metric; a column missing tasks says over how many."""
    vals = [r.metrics[main_metric(r)] for r in rs if not r.skipped]
    if not vals:
        return "—"
    mean = f"{sum(vals) / len(vals):.3f}"
    return mean if len(vals) == n_tasks else f"{mean} ({len(vals)} of {n_tasks} tasks)"


def _per_language(results: dict[str, list[TaskResult]]) -> list[str]:
    langs = sorted({lang for rs in results.values() for r in rs for lang in r.by_lang})
    if len(langs) <= 1:
        return []
    lines = [
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
    return lines


def bar_chart(results: dict[str, list[TaskResult]], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    models = list(results)
    by = {(m, r.task): r for m, rs in results.items() for r in rs if not r.skipped}
    tasks = list(dict.fromkeys(t for _, t in by))
    if not tasks:
        return None
    width = 0.8 / max(len(models), 1)
    fig, ax = plt.subplots(figsize=(max(6, len(tasks) * 0.9), 4))
    for i, m in enumerate(models):
        xs = [j + i * width for j in range(len(tasks))]
        rs = [by.get((m, t)) for t in tasks]
        ys = [r.metrics[main_metric(r)] if r else 0 for r in rs]
        errs = [r.metrics[main_metric(r) + "_stderr"] if r else 0 for r in rs]
        errs = [0 if e != e else e for e in errs]  # NaN (one item) draws no bar
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=m)
    ax.set_xticks([j + width * (len(models) - 1) / 2 for j in range(len(tasks))])
    ax.set_xticklabels(tasks, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

"""Accounting and the human-readable report: counts per stage, reason and language, plus a chart.

The ledger is computed from the final records alone (each input document is exactly one kept or
rejected record), so ``read = kept + Σ rejected`` holds by construction per language, and per
stage ``entered = passed + rejected`` with ``entered(next) = passed(previous)``. The report
states both identities and whether they hold, and the tests check them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from compass.data.curation.records import STAGES


def ledger(kept: list[dict], rejected: list[dict]) -> dict[str, Any]:
    by_stage: dict[str, Counter] = {s: Counter() for s in STAGES}
    by_lang_stage: dict[str, Counter] = defaultdict(Counter)
    kept_lang = Counter(d["lang"] for d in kept)
    for r in rejected:
        by_stage[r["stage"]][r["reason"]] += 1
        by_lang_stage[r["lang"]][r["stage"]] += 1
    read = len(kept) + len(rejected)
    stages, entered = [], read
    for s in STAGES:
        n_rej = sum(by_stage[s].values())
        stages.append(
            {
                "stage": s,
                "entered": entered,
                "rejected": n_rej,
                "passed": entered - n_rej,
                "reasons": dict(by_stage[s].most_common()),
            }
        )
        entered -= n_rej
    langs = sorted(set(kept_lang) | set(by_lang_stage))
    per_lang = {}
    for lang in langs:
        rej = by_lang_stage[lang]
        per_lang[lang] = {
            "read": kept_lang[lang] + sum(rej.values()),
            "kept": kept_lang[lang],
            "rejected": {s: rej[s] for s in STAGES if rej[s]},
        }
    balanced = entered == len(kept) and all(
        v["read"] == v["kept"] + sum(v["rejected"].values()) for v in per_lang.values()
    )
    return {
        "read": read,
        "kept": len(kept),
        "rejected": len(rejected),
        "balanced": balanced,
        "stages": stages,
        "per_language": per_lang,
    }


def quality_histogram(kept: list[dict], bins: int = 10) -> dict[str, list]:
    q = np.array([d["quality"] for d in kept], dtype=np.float64)
    counts, edges = np.histogram(q, bins=bins, range=(0.0, 1.0))
    return {"edges": [round(float(e), 2) for e in edges], "counts": counts.tolist()}


def render_markdown(report: dict[str, Any], chart_name: str) -> str:
    acc = report["accounting"]
    lines = [
        "# Curation report",
        "",
        f"Read {acc['read']} documents, kept {acc['kept']}, rejected {acc['rejected']} "
        f"(read = kept + Σ rejected: {'holds' if acc['balanced'] else 'BROKEN'}). "
        f"Engine: {report['engine']}, {report['throughput']['docs_per_s']:.0f} docs/s, "
        f"{report['throughput']['mb_per_s']:.2f} MB/s.",
        "",
        f"![kept and rejected per language]({chart_name})",
        "",
        "## Stages",
        "",
        "| stage | entered | rejected | passed | top reasons |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for s in acc["stages"]:
        reasons = ", ".join(f"{k} {v}" for k, v in list(s["reasons"].items())[:6])
        lines.append(
            f"| {s['stage']} | {s['entered']} | {s['rejected']} | {s['passed']} | {reasons} |"
        )
    lines += ["", "## Languages", "", "| lang | read | kept | rejected by stage | mixture |"]
    lines.append("| --- | ---: | ---: | --- | ---: |")
    mix = report["mixture"]["lang"]
    for lang, v in acc["per_language"].items():
        rej = ", ".join(f"{k} {n}" for k, n in v["rejected"].items())
        lines.append(f"| {lang} | {v['read']} | {v['kept']} | {rej} | {mix.get(lang, 0):.3f} |")
    lines += ["", "## Domains and other figures", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(report["stats"].items())]
    lines += [f"- kept per domain: {report['kept_per_domain']}"]
    lines += ["", "Rejected documents, with file and line or byte offset: `rejected.jsonl`.", ""]
    return "\n".join(lines)


def render_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_lang = report["accounting"]["per_language"]
    langs = list(per_lang)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    bottom = np.zeros(len(langs))
    kept = np.array([per_lang[lang]["kept"] for lang in langs], dtype=float)
    ax.bar(langs, kept, label="kept", color="#adb5bd")
    bottom += kept
    colors = dict(zip(STAGES, ("#862e9c", "#1c7ed6", "#f08c00", "#e03131", "#2f9e44", "#0c8599")))
    for stage in STAGES:
        vals = np.array([per_lang[lang]["rejected"].get(stage, 0) for lang in langs], dtype=float)
        if vals.any():
            ax.bar(langs, vals, bottom=bottom, label=f"rejected: {stage}", color=colors[stage])
            bottom += vals
    ax.set_title("documents per language")
    ax.legend(fontsize=8)
    hist = report["quality_histogram"]
    ax2.bar(hist["edges"][:-1], hist["counts"], width=0.09, align="edge", color="#1c7ed6")
    ax2.set_title("quality score of kept documents")
    ax2.set_xlabel("score")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)

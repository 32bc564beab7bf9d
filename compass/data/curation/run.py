"""``curate(cfg, out_dir)``: run an engine, then write the artifact directory.

Layout of ``out_dir``::

    curated/part-00000.parquet ...  text, lang, domain, quality, dup_count, weight, id, source
    rejected.jsonl                  one line per rejected document: file, offset, stage, reason
    mixture.json                    sampling weights per language and language/domain
    quality_model.npz               the trained quality classifier
    report.json, report.md, report.png
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from compass.data.curation.config import CurationConfig
from compass.data.curation.pipeline import CurationResult, run_local
from compass.data.curation.report import ledger, quality_histogram, render_chart, render_markdown
from compass.data.curation.resample import mixture_weights
from compass.utils.io import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [
        ("text", pa.string()),
        ("lang", pa.string()),
        ("domain", pa.string()),
        ("quality", pa.float32()),
        ("dup_count", pa.int32()),
        ("weight", pa.float32()),
        ("id", pa.string()),
        ("source", pa.string()),
    ]
)
REJECT_FIELDS = ("id", "file", "offset", "stage", "reason", "detail", "lang", "source")


def write_curated(kept: list[dict], out: Path, rows_per_file: int) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    names = []
    for i, s in enumerate(range(0, max(1, len(kept)), rows_per_file)):
        part = kept[s : s + rows_per_file]
        cols = {name: [d[name] for d in part] for name in SCHEMA.names}
        table = pa.Table.from_pydict(cols, schema=SCHEMA)
        name = f"part-{i:05d}.parquet"
        pq.write_table(table, out / name, compression="zstd")
        names.append(name)
    return names


def write_rejected(rejected: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rejected:
            row = {k: r.get(k, "") for k in REJECT_FIELDS}
            row["snippet"] = (r.get("text") or "")[:120]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def build_report(res: CurationResult, cfg: CurationConfig, engine: str, wall: float) -> dict:
    kept = res.kept
    langs = [d["lang"] for d in kept]
    domains = [d["domain"] for d in kept]
    # UTF-8 bytes, not characters, stand in for tokens: a CJK character carries ~3x the content.
    sizes = np.array([len(d["text"].encode("utf-8")) for d in kept], dtype=np.float64)
    weights = np.array([d["weight"] for d in kept], dtype=np.float64)
    n_read = len(kept) + len(res.rejected)
    return {
        "engine": engine,
        "accounting": ledger(kept, res.rejected),
        "kept_per_domain": dict(Counter(domains).most_common()),
        "mixture": mixture_weights(langs, domains, sizes, weights, cfg.resample.lang_temperature),
        "quality_histogram": quality_histogram(kept) if kept else {"edges": [], "counts": []},
        "stats": dict(res.stats),
        "timings_s": {k: round(v, 3) for k, v in res.timings.items()},
        "wall_s": round(wall, 3),
        "throughput": {
            "docs_per_s": n_read / max(wall, 1e-9),
            "mb_per_s": res.input_bytes / 1e6 / max(wall, 1e-9),
            "input_bytes": res.input_bytes,
        },
    }


def curate(cfg: CurationConfig, out_dir: str | Path) -> dict[str, Any]:
    """Run the configured engine over ``cfg.inputs`` and write everything under ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if cfg.engine == "ray":
        from compass.data.curation.ray_engine import run_ray

        res = run_ray(cfg)
    else:
        res = run_local(cfg)
    write_curated(res.kept, out / "curated", cfg.rows_per_file)
    write_rejected(res.rejected, out / "rejected.jsonl")
    if res.model is not None:
        res.model.save(out / "quality_model.npz")
    wall = time.perf_counter() - t0
    report = build_report(res, cfg, cfg.engine, wall)
    atomic_write_json(out / "mixture.json", report["mixture"])
    atomic_write_json(out / "report.json", report)
    render_chart(report, out / "report.png")
    atomic_write_text(out / "report.md", render_markdown(report, "report.png"))
    acc = report["accounting"]
    log.info(
        "curated %d → kept %d, rejected %d in %.1fs (%s); report: %s",
        acc["read"],
        acc["kept"],
        acc["rejected"],
        wall,
        cfg.engine,
        out / "report.md",
    )
    return report

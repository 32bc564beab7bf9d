"""``compass data curate``: raw documents → curated parquet + report (in-process or on Ray Data)."""

from __future__ import annotations

import argparse
import logging
import time

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe, save_resolved
from compass.utils.manifest import write_manifest

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "curate",
        help="curate raw documents: LID, filters, quality, dedup, resampling weights",
        description="Readers (jsonl[.gz|.zst], parquet, txt, warc, pdf, docx, epub) → normalise → "
        "language ID → heuristic filters → quality model → exact + MinHash dedup → weights. "
        "Writes OUT/curated/*.parquet, OUT/report.{json,md,png}, OUT/rejected.jsonl. "
        "Thresholds: --curation.* keys (see --dry-run).",
    )
    add_recipe_args(p, out_default="runs/data/curated")
    p.add_argument(
        "--input",
        nargs="+",
        default=None,
        help="files or directories to curate (default: curation.inputs of the recipe)",
    )
    p.add_argument("--engine", choices=["local", "ray"], default=None, help="default: local")
    p.add_argument("--ray-address", default=None, help="Ray cluster address (default: local)")
    p.set_defaults(func=run_cli)


def run_cli(args: argparse.Namespace) -> int:
    from compass.data.curation.run import curate

    recipe = resolve_recipe(args)
    cfg = recipe.curation
    if args.input:
        cfg.inputs = list(args.input)
    if args.engine:
        cfg.engine = args.engine
    if args.ray_address:
        cfg.ray_address = args.ray_address
    recipe.validate_all()
    if args.dry_run:
        return dry_run(recipe)
    t0 = time.time()
    save_resolved(recipe, args.out)
    report = curate(cfg, args.out)
    acc = report["accounting"]
    metrics = {
        "read": acc["read"],
        "kept": acc["kept"],
        "rejected": acc["rejected"],
        "balanced": acc["balanced"],
        "docs_per_s": round(report["throughput"]["docs_per_s"], 1),
        "mixture": report["mixture"]["lang"],
    }
    write_manifest(
        args.out,
        "data.curate",
        recipe.to_dict(),
        inputs={f"input{i}": p for i, p in enumerate(cfg.inputs)},
        metrics=metrics,
        wall_time_s=round(time.time() - t0, 2),
    )
    return 0 if acc["balanced"] else 1

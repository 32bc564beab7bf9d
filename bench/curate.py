"""Whole-pipeline curation throughput: Compass in-process vs datatrove running equivalent blocks.

Input: the built-in generator's corpus (``compass data generate``, tiny defaults: ~39k documents,
~20 MB) or ``--input``. Compass runs its full pipeline (readers, normalisation, LID, heuristic
filters, quality model, exact + MinHash dedup, weights, parquet + report). datatrove runs
JsonlReader → GopherRepetitionFilter → GopherQualityFilter → C4QualityFilter → JsonlWriter, then
its 4-stage MinHash dedup (signatures, buckets, clusters, filter) with the same 16x8 banding and
word 5-grams, in one local task. datatrove has no offline language ID (its LanguageFilter
downloads a fastText model) and no quality classifier, so it does less work than Compass here.
Also reports precision/recall of Compass against the generator's planted noise labels.

    .venv/bin/python bench/curate.py [--input DIR] [--n-docs 36000]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path


def run_datatrove(inputs: str, work: Path) -> float:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    # sha1: datatrove 0.10's xxhash path passes str to an xxhash that wants bytes.
    mh = MinhashConfig(
        hash_config=HashConfig(hash_fc="sha1"), num_buckets=16, hashes_per_bucket=8, n_grams=5
    )
    t0 = time.perf_counter()
    steps = [
        [
            JsonlReader(inputs),
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(filter_no_terminal_punct=False),
            JsonlWriter(str(work / "filtered")),
        ],
        [JsonlReader(str(work / "filtered")), MinhashDedupSignature(str(work / "sigs"), config=mh)],
        [MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=mh)],
        [MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=mh)],
        [
            JsonlReader(str(work / "filtered")),
            MinhashDedupFilter(str(work / "remove")),
            JsonlWriter(str(work / "deduped")),
        ],
    ]
    for i, pipeline in enumerate(steps):
        tasks = 16 if i == 2 else 1  # buckets run one task per band
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(work / f"logs{i}")
        ).run()
    return time.perf_counter() - t0


def count_docs(inputs: str) -> int:
    return sum(1 for f in Path(inputs).rglob("*.jsonl") for _ in open(f, encoding="utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", default=None, help="directory of JSONL documents")
    ap.add_argument("--n-docs", type=int, default=36_000, help="generator size when no --input")
    ap.add_argument("--out", default="bench/results/curate.md")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-curate-"))
    try:
        inputs = args.input
        if inputs is None:
            from compass.data.synth.config import DataGenConfig
            from compass.data.synth.generate import generate

            generate(DataGenConfig(n_docs=args.n_docs), tmp / "gen", progress=False)
            inputs = str(tmp / "gen" / "docs")
        n = count_docs(inputs)
        mb = sum(f.stat().st_size for f in Path(inputs).rglob("*") if f.is_file()) / 1e6

        from compass.data.curation.config import CurationConfig
        from compass.data.curation.noise_eval import evaluate
        from compass.data.curation.run import curate

        t0 = time.perf_counter()
        report = curate(CurationConfig(inputs=[inputs]), tmp / "compass")
        t_ours = time.perf_counter() - t0
        ev = evaluate(tmp / "compass", [inputs])
        try:
            t_dt = run_datatrove(inputs, tmp / "datatrove")
            dt_line = f"| datatrove {_version()} | {t_dt:.1f} | {n / t_dt:,.0f} |"
            ratio = f"**throughput ratio compass / datatrove: {t_dt / t_ours:.2f}x**"
        except ImportError as e:
            dt_line, ratio = f"| datatrove | not run: {e} | |", "datatrove did not install offline"
        acc = report["accounting"]
        lines = [
            "# bench/curate.py — whole-pipeline curation, Compass vs datatrove",
            "",
            f"- machine: {platform.machine()} (2 shared cores), python "
            f"{platform.python_version()}, "
            f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "- command: `.venv/bin/python bench/curate.py"
            + (f" --input {args.input}`" if args.input else f" --n-docs {args.n_docs}`"),
            f"- input: {n} documents, {mb:.1f} MB of JSONL",
            "",
            "| engine | seconds | docs/s |",
            "| --- | ---: | ---: |",
            f"| compass (local engine, all stages) | {t_ours:.1f} | {n / t_ours:,.0f} |",
            dt_line,
            "",
            ratio,
            "",
            f"Compass kept {acc['kept']} of {acc['read']}; "
            f"stage timings (s): {report['timings_s']}",
            "",
            "Planted noise (generator labels): precision "
            f"{ev['precision']}, recall {ev['recall']}; recall per kind: "
            f"{json.dumps(ev['recall_per_kind'])}; planted near-duplicates found in a duplicate "
            f"cluster (kept or not): {ev['near_duplicate_detected']}; clean documents rejected: "
            f"{ev['clean_rejected']} of {ev['clean_docs']} ({ev['clean_rejected_reasons']}).",
            "",
        ]
        text = "\n".join(lines)
        print(text)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _version() -> str:
    import datatrove

    return getattr(datatrove, "__version__", "")


if __name__ == "__main__":
    main()

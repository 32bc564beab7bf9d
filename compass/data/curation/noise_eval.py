"""Precision and recall of curation against planted noise labels (the generator's ``noise`` field).

A document counts as caught when it was rejected at any stage; for planted near-duplicates the
detection rate (in a duplicate cluster at all) is reported too, because the keep policy retains
up to k copies of high-quality clusters on purpose. Recall is per noise kind; the
precision is over all rejections (a rejected clean document is a false positive), and the clean
rejections are broken down by reason so a threshold that hurts clean data is easy to find.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from compass.data.curation.readers import list_inputs


def noise_labels(inputs: list[str]) -> dict[str, dict]:
    """id -> {"noise": kind or None, "source": ...} from JSONL inputs that carry labels."""
    out = {}
    for f in list_inputs(inputs):
        if not f.endswith(".jsonl"):
            continue
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                try:
                    d = json.loads(line)
                except json.JSONDecodeError:
                    continue
                out[str(d.get("id", ""))] = {"noise": d.get("noise"), "source": d.get("source")}
    return out


def evaluate(out_dir: str | Path, inputs: list[str]) -> dict[str, Any]:
    labels = noise_labels(inputs)
    out = Path(out_dir)
    kept_dups: dict[str, int] = {}
    for part in sorted((out / "curated").glob("part-*.parquet")):
        t = pq.read_table(part, columns=["id", "dup_count"]).to_pydict()
        kept_dups.update(zip(t["id"], t["dup_count"]))
    rejected = {}
    with open(out / "rejected.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            rejected[r["id"]] = f"{r['stage']}:{r['reason']}"
    # The keep policy may keep a near-duplicate of high quality on purpose: "detected" counts
    # a planted near-duplicate that ended in a duplicate cluster, kept or not.
    near = [i for i, lab in labels.items() if lab["noise"] == "near_duplicate"]
    detected = sum(
        kept_dups.get(i, 0) > 1 or rejected.get(i, "").startswith("dedup:") for i in near
    )
    per_kind: dict[str, Counter] = {}
    clean_reasons: Counter = Counter()
    clean_by_source: Counter = Counter()
    tp = fp = 0
    for doc_id, lab in labels.items():
        kind = lab["noise"]
        caught = doc_id in rejected
        if kind:
            per_kind.setdefault(kind, Counter())["caught" if caught else "missed"] += 1
            tp += caught
        elif caught:
            fp += 1
            clean_reasons[rejected[doc_id]] += 1
            clean_by_source[lab["source"]] += 1
    recall = {
        k: round(c["caught"] / max(1, c["caught"] + c["missed"]), 4) for k, c in per_kind.items()
    }
    n_noise = sum(sum(c.values()) for c in per_kind.values())
    return {
        "precision": round(tp / max(1, tp + fp), 4),
        "recall": round(tp / max(1, n_noise), 4),
        "recall_per_kind": dict(sorted(recall.items())),
        "noise_docs": n_noise,
        "clean_docs": len(labels) - n_noise,
        "clean_rejected": fp,
        "clean_rejected_reasons": dict(clean_reasons.most_common(15)),
        "clean_rejected_sources": dict(clean_by_source.most_common()),
        "near_duplicate_detected": round(detected / max(1, len(near)), 4),
        "labelled_seen": len(set(kept_dups) | set(rejected)),
    }

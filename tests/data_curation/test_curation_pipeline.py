"""The whole pipeline: outputs, accounting, bad input, the CLI, the Ray code path, planted noise."""

from __future__ import annotations

import gzip
import itertools
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from curation_files import (
    clean_docs,
    write_docx,
    write_epub,
    write_jsonl,
    write_parquet,
    write_pdf,
    write_warc,
)

from compass.data.curation.config import CurationConfig
from compass.data.curation.records import STAGES
from compass.data.curation.run import SCHEMA, curate

CODE = """import json

def load(path):
    with open(path) as f:
        return json.load(f)

def save(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)
"""
SPAM = "BUY NOW!!! 90% OFF!!! CLICK HERE!!! LIMITED OFFER!!! http://promo.example !!!"


def build_inputs(root: Path) -> None:
    """A mixed directory: every format, clean and noisy documents, and broken files."""
    root.mkdir()
    docs = clean_docs()
    extra = [
        dict(docs[0], id="dup-exact"),
        {"id": "spam", "text": SPAM, "source": "web"},
        {"id": "code", "text": CODE, "source": "code"},
        {"id": "empty", "text": "   \n ", "source": "web"},
        {
            "id": "fr",
            "text": "La livraison était rapide et le colis est arrivé en parfait état "
            "malgré la pluie, merci beaucoup.",
            "source": "web",
        },
    ]
    write_jsonl(root / "a.jsonl", docs[:20] + extra)
    write_jsonl(root / "b.jsonl.gz", docs[20:35])
    write_parquet(root / "c.parquet", [{"text": d["text"], "id": d["id"]} for d in docs[35:]])
    (root / "d.txt").write_text(
        "Customers in Manila often compare prices across several shops before they buy "
        "a new phone, and many wait for the monthly sale to use their vouchers.",
        encoding="utf-8",
    )
    write_pdf(root / "e.pdf", ["The courier delivered the parcel on time and the box was intact."])
    write_docx(root / "f.docx", ["Our store ships every weekday and returns are free for 30 days."])
    write_epub(root / "g.epub", ["The market opens at dawn and closes when the lanterns go out."])
    html = "<html><body><article><p>Rain is expected across the northern provinces this "
    html += (
        "afternoon, so farmers are moving their harvest indoors early.</p></article></body></html>"
    )
    write_warc(root / "h.warc", [("http://news.example/rain", html)])
    bad = b'{"text": "fine line one for the record"}\n{"text": broken\n\xff\xfe\n'
    (root / "i.jsonl").write_bytes(bad)
    full = gzip.compress(b"".join(b'{"text": "short"}\n' for _ in range(2000)))
    (root / "j.jsonl.gz").write_bytes(full[: len(full) // 3])
    (root / "k.pdf").write_bytes(b"%PDF-1.4 garbage")
    (root / "l.jsonl").symlink_to(root / "missing.jsonl")


def _cfg(root: Path, **kw) -> CurationConfig:
    cfg = CurationConfig(inputs=[str(root)])
    cfg.quality.max_train_docs = 500
    cfg.dedup.hq_max_copies = 1
    for k, v in kw.items():
        cfg.override(k, v)
    return cfg


@pytest.fixture(scope="module")
def curated(tmp_path_factory) -> tuple[Path, Path, dict]:
    tmp = tmp_path_factory.mktemp("cur")
    build_inputs(tmp / "in")
    report = curate(_cfg(tmp / "in"), tmp / "out")
    return tmp / "in", tmp / "out", report


def test_outputs_and_columns(curated):
    _, out, report = curated
    table = pq.read_table(out / "curated")
    assert table.schema.names == SCHEMA.names
    assert table.num_rows == report["accounting"]["kept"] > 30
    for name in ("report.json", "report.md", "report.png", "rejected.jsonl", "mixture.json"):
        assert (out / name).stat().st_size > 0
    rows = table.to_pylist()
    assert all(0.0 <= r["quality"] <= 1.0 and r["weight"] > 0 and r["dup_count"] >= 1 for r in rows)
    by_id = {r["id"]: r for r in rows}
    assert by_id["code"]["domain"] == "code"
    assert {r["lang"] for r in rows} == {"en", "zh", "id", "ms", "th", "vi", "tl", "pt"}
    for fmt in ("pdf", "docx", "epub", "warc", "txt"):
        assert any(r["source"] == fmt for r in rows), fmt
    assert abs(sum(report["mixture"]["lang"].values()) - 1) < 1e-6


def _rejected(out: Path) -> list[dict]:
    with open(out / "rejected.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_accounting_adds_up_per_stage_and_language(curated):
    _, out, report = curated
    acc = report["accounting"]
    rejected = _rejected(out)
    truncated = next(r for r in rejected if r["reason"] == "truncated_archive")
    n_trunc_docs = int(truncated["offset"].split()[1]) - 1
    # jsonl/parquet docs + 5 extras, 5 single-document files, 3 lines of i.jsonl, the readable
    # part of the cut gzip + its truncation record, the corrupt PDF and the dangling link.
    assert acc["read"] == len(clean_docs()) + 5 + 5 + 3 + n_trunc_docs + 1 + 2
    assert acc["read"] == acc["kept"] + acc["rejected"] and acc["balanced"]
    assert acc["rejected"] == len(rejected)
    stages = acc["stages"]
    assert [s["stage"] for s in stages] == list(STAGES)
    for prev, nxt in itertools.pairwise(stages):
        assert prev["passed"] == nxt["entered"]
    for s in stages:
        assert s["entered"] == s["passed"] + sum(s["reasons"].values())
    assert stages[-1]["passed"] == acc["kept"]
    for lang, v in acc["per_language"].items():
        assert v["read"] == v["kept"] + sum(v["rejected"].values()), lang
    assert sum(v["read"] for v in acc["per_language"].values()) == acc["read"]


def test_bad_input_and_noise_have_named_reasons_with_locations(curated):
    _, out, _ = curated
    rejected = _rejected(out)
    where = {(Path(r["file"]).name, r["reason"]): r["offset"] for r in rejected}
    assert where[("i.jsonl", "malformed_json")] == "line 2"
    assert where[("i.jsonl", "invalid_utf8")] == "line 3"
    assert ("j.jsonl.gz", "truncated_archive") in where
    assert ("k.pdf", "corrupt_pdf") in where
    assert ("l.jsonl", "unreadable_file") in where
    reasons = {r["id"]: r["reason"] for r in rejected}
    assert reasons["empty"] == "empty_document"
    assert reasons["fr"] == "other_language"
    assert reasons["spam"] in ("max_exclaim_frac", "max_upper_frac", "max_url_word_frac")
    assert reasons["dup-exact"] == "exact_duplicate" or reasons.get(clean_docs()[0]["id"]) == (
        "exact_duplicate"
    )


def test_ray_code_path_without_ray_gives_the_local_kept_set(curated):
    """The Ray engine's per-batch classes, fed Ray-style numpy batches, reproduce the local run."""
    from compass.data.curation.pipeline import finalize, train_quality, training_texts
    from compass.data.curation.ray_engine import _PhaseA, _PhaseB, _ReadFile, _to_records
    from compass.data.curation.readers import list_inputs

    root, out, _ = curated
    cfg = _cfg(root)
    reader, pa_ = _ReadFile(cfg.to_dict()), _PhaseA(cfg.to_dict())
    rows = [r for f in reversed(list_inputs(cfg.inputs)) for r in reader({"path": f})]

    def as_numpy(recs):
        return {k: np.array([r[k] for r in recs], dtype=object) for k in recs[0]}

    batches = [as_numpy(rows[s : s + 7]) for s in range(0, len(rows), 7)]  # odd batch size
    a_rows = [r for b in batches for r in _to_records(pa_(b))]
    live = [r for r in a_rows if not r["reason"]]
    model = train_quality(training_texts(live, cfg.quality.max_train_docs), cfg, seed=0)
    pb = _PhaseB(cfg.to_dict(), model.w, model.b)
    b_rows = []
    for s in range(0, len(a_rows), 11):
        chunk = [{k: v for k, v in r.items() if k != "stats"} for r in a_rows[s : s + 11]]
        b_rows += _to_records(pb(as_numpy(chunk)))
    survivors = [r for r in b_rows if not r["reason"]]
    ehash = np.array([r.pop("ehash") for r in survivors], dtype=np.int64)
    sig = np.stack([np.asarray(r.pop("sig"), dtype=np.uint32) for r in survivors])
    kept, _, _ = finalize(survivors, ehash, sig, cfg)
    local = pq.read_table(out / "curated").to_pylist()
    assert sorted(d["id"] for d in kept) == sorted(d["id"] for d in local)
    local_w = {d["id"]: d["weight"] for d in local}
    assert all(abs(d["weight"] - local_w[d["id"]]) < 1e-6 for d in kept)


@pytest.mark.slow
def test_ray_engine_gives_the_same_kept_set(curated, tmp_path):
    root, out, report = curated
    ray_report = curate(_cfg(root, engine="ray", ray_num_cpus=2), tmp_path / "ray")
    local = sorted(pq.read_table(out / "curated").column("id").to_pylist())
    remote = sorted(pq.read_table(tmp_path / "ray" / "curated").column("id").to_pylist())
    assert local == remote
    assert ray_report["accounting"]["stages"] == report["accounting"]["stages"]


def test_cli_writes_manifest_and_resolved_config(tmp_path):
    from compass.cli import main

    root = tmp_path / "in"
    root.mkdir()
    write_jsonl(root / "a.jsonl", clean_docs()[:24])
    rc = main(
        [
            "data",
            "curate",
            "--input",
            str(root),
            "--out",
            str(tmp_path / "out"),
            "--curation.dedup.bands=32",
            "--curation.quality.max_train_docs=200",
        ]
    )
    assert rc == 0
    cfg = json.loads((tmp_path / "out" / "config.json").read_text())
    assert cfg["curation"]["dedup"]["bands"] == 32
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["stage"] == "data.curate" and manifest["metrics"]["balanced"]
    assert main(["data", "curate", "--dry-run", "--curation.dedup.bands=7"]) == 2  # 128 % 7 != 0


def test_planted_noise_of_the_generator_is_caught(tmp_path):
    synth = pytest.importorskip("compass.data.synth.generate")
    from compass.data.curation.noise_eval import evaluate
    from compass.data.synth.config import DataGenConfig

    synth.generate(
        DataGenConfig(n_docs=1200, noise_fraction=0.15), tmp_path / "gen", progress=False
    )
    cfg = CurationConfig(inputs=[str(tmp_path / "gen" / "docs")])
    report = curate(cfg, tmp_path / "out")
    ev = evaluate(tmp_path / "out", cfg.inputs)
    recall = ev["recall_per_kind"]
    for kind in ("spam", "boilerplate", "keyword_stuffing", "mojibake"):
        assert recall.get(kind, 1.0) >= 0.8, (kind, ev)
    assert ev["clean_rejected"] / ev["clean_docs"] < 0.1, ev
    stats = Counter(report["stats"])
    assert report["kept_per_domain"].get("code", 0) > 0 and report["kept_per_domain"]["math"] > 0
    assert stats["math_kept_that_prose_rules_drop"] + stats["code_kept_that_prose_rules_drop"] > 0

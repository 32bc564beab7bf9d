"""Reading inputs: JSONL, parquet, lang=path text; bad bytes skipped and reported; clear errors."""

from __future__ import annotations

import json

import pytest

from compass.config import ConfigError
from compass.tokenizer.build import train_tokenizer
from compass.tokenizer.config import TokenizerConfig, parse_groups
from compass.tokenizer.corpus import chunk_document, parse_sources, sample_per_language


def _sample(specs, **kw):
    args = {"max_lines": 1000, "max_bytes": 10**7, "max_line_bytes": 4096, "seed": 0} | kw
    return sample_per_language(parse_sources(specs), **args)


def test_non_utf8_lines_are_skipped_with_file_and_line(tmp_path):
    f = tmp_path / "d" / "a.jsonl"
    f.parent.mkdir()
    good = json.dumps({"text": "xin chào", "lang": "vi"}, ensure_ascii=False).encode()
    f.write_bytes(
        good + b"\n" + b'{"text": "bad \xff\xfe", "lang": "vi"}\n' + b"{not json\n" + good + b"\n"
    )
    samples, report = _sample([str(tmp_path / "d")])
    assert samples == {"vi": ["xin chào", "xin chào"]}
    assert report.skipped == {"not UTF-8": 1, "not JSON": 1}
    assert report.skipped_where[0] == f"{f}:2: not UTF-8"


def test_parquet_and_lang_path_text(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cur = tmp_path / "curated"
    cur.mkdir()
    pq.write_table(pa.table({"text": ["สวัสดี", "olá"], "lang": ["th", "pt"]}), cur / "p.parquet")
    txt = tmp_path / "tl.txt"
    txt.write_text("Magandang araw\npo\n\nSalamat\n", encoding="utf-8")
    with open(txt, "ab") as fh:
        fh.write(b"\xff\xfe broken\n")
    samples, report = _sample([str(cur), f"tl={txt}"])
    assert samples["th"] == ["สวัสดี"] and samples["pt"] == ["olá"]
    assert sorted(samples["tl"]) == ["Magandang araw\npo", "Salamat"]
    assert report.skipped == {"not UTF-8": 1}


def test_caps_per_language_are_balanced(tmp_path):
    f = tmp_path / "a.jsonl"
    rows = [{"text": f"english line {i}", "lang": "en"} for i in range(500)]
    rows += [{"text": f"baris {i}", "lang": "id"} for i in range(20)]
    f.write_text("\n".join(json.dumps(r) for r in rows))
    samples, _ = _sample([str(tmp_path)], max_lines=50)
    assert len(samples["en"]) == 50 and len(samples["id"]) == 20
    assert len(set(samples["en"])) == 50
    again, _ = _sample([str(tmp_path)], max_lines=50)
    assert again == samples  # seeded
    by_bytes, _ = _sample([str(tmp_path)], max_bytes=100)
    assert sum(len(s) for s in by_bytes["en"]) <= 100


def test_chunk_document_keeps_text_and_bounds_bytes():
    doc = "\n".join(["ข้อความภาษาไทย" * 3] * 40 + ["x" * 5000])
    chunks = chunk_document(doc, 300)
    assert all(len(c.encode()) <= 300 for c in chunks)
    assert "".join(chunks).replace("\n", "") == doc.replace("\n", "")


def test_errors_name_the_problem(tmp_path, corpus_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.jsonl").write_text("")
    with pytest.raises(ConfigError, match="no usable text"):
        train_tokenizer(TokenizerConfig(vocab_size=600), [str(empty)], tmp_path / "o1")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("plain text needs lang=path")
    with pytest.raises(ConfigError, match=r"no \*\.jsonl or \*\.parquet"):
        parse_sources([str(tmp_path / "texts")])
    with pytest.raises(ConfigError, match="language 'nl' has no text"):
        cfg = TokenizerConfig(vocab_size=600, groups="en+nl:600")
        train_tokenizer(cfg, [str(corpus_dir)], tmp_path / "o2")
    with pytest.raises(ConfigError, match="smaller than the special tokens"):
        TokenizerConfig(vocab_size=100).validate()
    with pytest.raises(ConfigError, match="cannot parse group"):
        parse_groups("en+zh", 1000)
    with pytest.raises(ConfigError, match="does not exist"):
        parse_sources([f"en={tmp_path / 'missing.txt'}"])

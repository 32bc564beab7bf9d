"""Curated parquet -> shards: every document round-trips, splits are disjoint, bad input is
named."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from compass.data.shards import ShardError, check_vocab, open_split, read_meta, tokenize_curated
from compass.data.shards.fixtures import ByteTokenizer, make_curated


def _docs(curated):
    rows = []
    for f in sorted(curated.glob("*.parquet")):
        rows += pq.read_table(f).to_pylist()
    return {r["id"]: r for r in rows}


def test_every_document_round_trips_with_its_index_row(curated_dir, shards_dir):
    docs = _docs(curated_dir)
    meta = read_meta(shards_dir)
    tok = ByteTokenizer()
    seen = []
    for split in ("train", "val"):
        ix = open_split(shards_dir, split)
        for i in range(ix.n_docs):
            ids = ix.tokens[ix.offsets[i] : ix.offsets[i + 1]].tolist()
            assert ids[-1] == tok.eos_id
            text = tok.decode(ids[:-1])
            match = [d for d in docs.values() if d["text"] == text]
            assert len(match) == 1
            d = match[0]
            assert meta["langs"][ix.lang[i]] == d["lang"]
            assert meta["domains"][ix.domain[i]] == d["domain"]
            assert ix.quality[i] == pytest.approx(d["quality"])
            assert ix.weight[i] == pytest.approx(d["weight"])
            seen.append((split, d["id"]))
    ids = [i for _, i in seen]
    assert sorted(ids) == sorted(docs)  # each document exactly once, in exactly one split
    assert meta["splits"]["val"]["n_docs"] >= 8
    assert meta["counts"]["read"] == meta["counts"]["kept"] == len(docs)
    assert meta["max_token_id"] == tok.eos_id


def test_same_input_gives_same_bytes(curated_dir, shards_dir, tmp_path):
    tokenize_curated(curated_dir, ByteTokenizer(), tmp_path / "again", tokenizer_hash="bytes-v1")
    for name in ("train.tokens.bin", "val.tokens.bin", "train.index.npz"):
        assert (tmp_path / "again" / name).read_bytes() == (shards_dir / name).read_bytes()


def test_missing_or_wrong_input_is_named(tmp_path, curated_dir):
    with pytest.raises(ShardError, match=r"no \.parquet files"):
        tokenize_curated(tmp_path, ByteTokenizer(), tmp_path / "out")
    bad = tmp_path / "bad"
    bad.mkdir()
    table = pq.read_table(next(curated_dir.glob("*.parquet"))).drop(["text"])
    pq.write_table(table, bad / "x.parquet")
    with pytest.raises(ShardError, match=r"x\.parquet: missing column\(s\) \['text'\]"):
        tokenize_curated(bad, ByteTokenizer(), tmp_path / "out")
    with pytest.raises(ShardError, match=r"no meta\.json"):
        read_meta(tmp_path)


def test_vocab_mismatch_and_truncated_shards(shards_dir, tmp_path):
    with pytest.raises(ShardError, match=r"model\.vocab_size=200.*different tokenizer"):
        check_vocab(read_meta(shards_dir), 200, shards_dir)
    check_vocab(read_meta(shards_dir), 1024, shards_dir)
    broken = tmp_path / "broken"
    make_curated(tmp_path / "c", n_docs=40)
    tokenize_curated(tmp_path / "c", ByteTokenizer(), broken)
    data = (broken / "train.tokens.bin").read_bytes()
    (broken / "train.tokens.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(ShardError, match="incomplete or corrupt"):
        open_split(broken, "train")


def test_tokenize_cli_writes_manifest(monkeypatch, curated_dir, tmp_path):
    from compass.cli import main
    from compass.data.shards import cli

    monkeypatch.setattr(cli, "load_tokenizer", lambda path: ByteTokenizer())
    tok_dir = tmp_path / "tok"
    tok_dir.mkdir()
    (tok_dir / "tokenizer.json").write_text("{}")
    out = tmp_path / "shards"
    rc = main(
        [
            "data",
            "tokenize",
            "--curated",
            str(curated_dir),
            "--tokenizer",
            str(tok_dir),
            "--out",
            str(out),
            "--recipe",
            "micro",
            "--shards.val_fraction=0.1",
        ]
    )
    assert rc == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "data.tokenize"
    assert manifest["config"]["shards"]["val_fraction"] == 0.1
    val = read_meta(out)["splits"]["val"]["n_docs"]
    assert 10 < val < 60  # ~10% of 300 by id hash
    assert read_meta(out)["tokenizer"]["hash"] == manifest["inputs"]["tokenizer"]["hash"]
    assert np.fromfile(out / "val.tokens.bin", dtype=np.uint32).max() < 258

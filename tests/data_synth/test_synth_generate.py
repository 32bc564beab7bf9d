"""``compass data generate`` end to end on the micro recipe: files, labels, determinism."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from compass.cli import main
from compass.data.synth.config import DEFAULT_NOISE_MIX, LANGS, DataGenConfig
from compass.data.synth.evalgen import TASKS
from compass.data.synth.world import World

REPO = Path(__file__).resolve().parents[2]


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _shingles(text: str, k: int = 5) -> set[str]:
    return {text[i : i + k] for i in range(max(1, len(text) - k + 1))}


def _undo_mojibake(text: str) -> str:
    raw = bytearray()
    for ch in text:
        try:
            raw += ch.encode("cp1252")
        except UnicodeEncodeError:  # the five bytes cp1252 leaves undefined pass through as-is
            raw.append(ord(ch))
    return raw.decode("utf-8")


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "micro"
    assert main(["data", "generate", "--recipe", "micro", "--out", str(out), "--no-progress"]) == 0
    return out


@pytest.fixture(scope="module")
def docs(out: Path) -> list[dict]:
    return [d for f in sorted((out / "docs").glob("*.jsonl")) for d in _read_jsonl(f)]


def test_artifacts_written(out: Path) -> None:
    for name in ("config.json", "manifest.json", "world.json"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "data.generate"
    assert manifest["config"]["datagen"]["n_docs"] == 2000
    assert {p.stem for p in (out / "eval").glob("*.jsonl")} == set(TASKS)


def test_documents_have_fields_and_every_language(docs: list[dict]) -> None:
    assert len(docs) == 2000 + round(2000 * DataGenConfig().noise_fraction)
    for d in docs:
        assert set(d) >= {"id", "text", "lang", "source", "noise"}
        assert d["text"].strip() and d["lang"] in LANGS
    assert len({d["id"] for d in docs}) == len(docs)
    by_lang = collections.Counter(d["lang"] for d in docs if d["noise"] is None)
    assert set(by_lang) == set(LANGS) and min(by_lang.values()) > 150
    sources = {d["source"] for d in docs if d["noise"] is None}
    assert sources == {k for k, v in DataGenConfig().mix.items() if v > 0}  # order: opt-in


def test_noise_is_planted_and_labelled(docs: list[dict]) -> None:
    by_id = {d["id"]: d for d in docs}
    noise = [d for d in docs if d["noise"]]
    assert {d["noise"] for d in noise} == set(DEFAULT_NOISE_MIX)
    for d in noise:
        kind = d["noise"]
        if kind == "near_duplicate":
            orig = by_id[d["meta"]["dup_of"]]
            assert orig["noise"] is None and d["text"] != orig["text"]
            assert d["lang"] == orig["lang"] and d["source"] == orig["source"]
            a, b = _shingles(d["text"]), _shingles(orig["text"])
            assert len(a & b) / len(a | b) >= 0.5, (orig["text"], d["text"])  # near, not far
        elif kind == "mojibake":
            orig = by_id[d["meta"]["of"]]
            assert d["text"] != orig["text"]
            assert _undo_mojibake(d["text"]) == orig["text"]  # really UTF-8 read as cp1252
        elif kind == "mixed_language":
            a, b = (by_id[i] for i in d["meta"]["of"])
            assert a["lang"] != b["lang"]
        else:
            assert d["source"] == kind
    # Clean documents carry no planted-noise artefacts.
    assert not any("www.best-deal-4u.xyz" in d["text"] for d in docs if d["noise"] is None)


def test_eval_items_well_formed(out: Path) -> None:
    for task in TASKS:
        items = _read_jsonl(out / "eval" / f"{task}.jsonl")
        assert {it["lang"] for it in items} == set(LANGS), task
        for it in items:
            assert it["task"] == task and it["prompt"]
            if it["type"] == "mc":
                assert len(it["choices"]) == len(set(it["choices"])) >= 3
                assert 0 <= it["answer"] < len(it["choices"])
            else:
                assert it["type"] == "exact" and it["answer"] and "answer_minor" in it


def test_eval_items_are_held_out(out: Path, docs: list[dict]) -> None:
    corpus = "\n".join(d["text"] for d in docs)
    items = _read_jsonl(out / "eval" / "numerical_reasoning.jsonl")
    assert sum(it["prompt"] in corpus for it in items) <= len(items) // 10


def test_world_json_round_trip(out: Path) -> None:
    world = World.load(out / "world.json")
    rebuilt = World.build(1234, n_products=200, n_shops=20, n_users=100)
    assert world.to_dict() == rebuilt.to_dict()


def test_same_seed_same_bytes_across_processes(out: Path, tmp_path: Path) -> None:
    """Another process with another hash seed writes byte-identical files."""
    other = tmp_path / "again"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    cmd = [
        sys.executable,
        "-m",
        "compass.cli",
        "data",
        "generate",
        "--recipe",
        "micro",
        "--out",
        str(other),
        "--no-progress",
    ]
    subprocess.run(cmd, check=True, cwd=REPO, env=env, capture_output=True)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for rel in files:
        if rel.name != "manifest.json":  # holds wall time and a timestamp
            assert (out / rel).read_bytes() == (other / rel).read_bytes(), rel


def test_different_seed_different_corpus(tmp_path: Path) -> None:
    from compass.data.synth.generate import clean_docs

    cfg = DataGenConfig(n_products=40, n_docs=50)
    w = World.build(cfg.seed, cfg.n_products, 5, 20)
    a = [d["text"] for d in clean_docs(w, cfg)]
    cfg.seed = 99
    b = [d["text"] for d in clean_docs(World.build(99, 40, 5, 20), cfg)]
    assert a == [d["text"] for d in clean_docs(w, DataGenConfig(n_products=40, n_docs=50))]
    assert a != b


def test_one_language_small_corpus(tmp_path: Path) -> None:
    from compass.data.synth.generate import generate

    cfg = DataGenConfig(
        languages=["th"], n_products=20, n_docs=30, noise_fraction=0.5, eval_items_per_task=2
    )
    metrics = generate(cfg, tmp_path, progress=False)
    assert metrics["by_lang"] == {"th": 45} and "mixed_language" not in metrics["by_noise"]
    assert all(n == 2 for n in metrics["eval_items"].values())

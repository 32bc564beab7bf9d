"""The whole chain on the micro recipe: every stage's artifact, the report, a no-op rerun."""

import json

import pytest
import torch

from compass.cli import main
from compass.utils.manifest import read_manifest


@pytest.fixture(scope="module")
def micro_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "micro"
    # A smaller corpus than micro's default keeps this test to well under a minute per stage.
    assert (
        main(
            [
                "run",
                "--recipe",
                "micro",
                "--out",
                str(out),
                "--datagen.n_docs=1500",
                "--datagen.n_products=120",
            ]
        )
        == 0
    )
    return out


def test_every_stage_completes_with_a_manifest(micro_run):
    from compass.pipeline.steps import tiny_pipeline

    for step in tiny_pipeline():
        m = read_manifest(micro_run / step.name)
        assert m and m["complete"], step.name
    report = (micro_run / "REPORT.md").read_text()
    assert "pretrain_long" in report and "| **total** |" in report


def test_curation_accounts_for_every_document(micro_run):
    acc = json.loads((micro_run / "curate" / "report.json").read_text())["accounting"]
    assert acc["read"] == acc["kept"] + acc["rejected"]


def test_export_of_the_last_stage_loads_in_transformers(micro_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = AutoModelForCausalLM.from_pretrained(micro_run / "export" / "hf", dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(micro_run / "export" / "hf")
    ids = tok("Harga sepatu", return_tensors="pt").input_ids
    assert torch.isfinite(hf(ids).logits).all()


def test_rerun_skips_every_stage(micro_run, caplog):
    from compass.pipeline.steps import tiny_pipeline

    caplog.set_level("INFO")
    assert (
        main(
            [
                "run",
                "--recipe",
                "micro",
                "--out",
                str(micro_run),
                "--datagen.n_docs=1500",
                "--datagen.n_products=120",
            ]
        )
        == 0
    )
    assert caplog.text.count("up to date, skipped") == len(tiny_pipeline())


def test_a_different_run_in_the_same_directory_is_refused(micro_run, caplog):
    assert main(["run", "--recipe", "tiny", "--out", str(micro_run)]) == 2
    assert "--force" in caplog.text


def test_until_stops_after_the_named_stage(tmp_path):
    out = tmp_path / "part"
    args = ["run", "--recipe", "micro", "--out", str(out), "--datagen.n_docs=300"]
    assert main([*args, "--until", "curate"]) == 0
    assert read_manifest(out / "curate")["complete"]
    assert not (out / "tokenizer").exists()
    assert main([*args, "--until", "no_such_stage"]) == 2

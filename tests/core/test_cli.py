"""The console entry point: stage list, --dry-run, resolved config, errors for people."""

import json

from compass.cli import STAGES, build_parser, main


def test_help_lists_every_stage(capsys):
    help_text = build_parser().format_help()
    for name in (
        "data",
        "tokenizer",
        "pretrain",
        "sft",
        "reward",
        "dpo",
        "quantize",
        "export",
        "serve",
        "chat",
        "eval",
        "run",
    ):
        assert name in STAGES and name in help_text


def test_model_info_dry_run_prints_resolved_config(capsys):
    assert main(["model", "info", "--recipe", "tiny", "--model.n_layers=3", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["model"]["n_layers"] == 3 and cfg["name"] == "tiny"


def test_model_info_counts_30b(capsys):
    assert main(["model", "info", "--recipe", "compass_v2_30b_a5b"]) == 0
    out = capsys.readouterr().out
    assert "30.13 B" in out and "5.22 B" in out


def test_unknown_override_is_an_error_naming_the_key(caplog):
    assert main(["model", "info", "--model.n_layer=3"]) == 2
    assert "did you mean 'model.n_layers'" in caplog.text

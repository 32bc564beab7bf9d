"""The one lookup of a checkpoint's tokenizer that chat, serve, eval, reward and DPO share."""

import pytest

from compass.tokenizer.locate import place_tokenizer, tokenizer_for


def _tok(d):
    (d / "tokenizer").mkdir(parents=True)
    (d / "tokenizer" / "tokenizer.model").write_bytes(b"x")
    return d / "tokenizer"


def test_finds_the_tokenizer_beside_a_training_run(tmp_path):
    run = tmp_path / "sft2" / "ckpt"
    step = run / "step_000010"
    step.mkdir(parents=True)
    (step / "model.safetensors").write_bytes(b"")
    (run / "latest").write_text("step_000010")
    tok = _tok(run)
    assert tokenizer_for(run) == tok  # the run dir resolves to its step; the tokenizer sits above
    assert tokenizer_for(step) == tok
    assert tokenizer_for(step, explicit=tmp_path / "other") == tmp_path / "other"


def test_missing_tokenizer_says_what_to_pass(tmp_path):
    assert tokenizer_for(tmp_path, required=False) is None
    with pytest.raises(FileNotFoundError, match="--tokenizer DIR"):
        tokenizer_for(tmp_path)


def test_placed_tokenizer_is_found_and_leaves_the_run_files_behind(tmp_path):
    src = _tok(tmp_path / "tokenizer_run")
    (src / "manifest.json").write_text("{}")
    (src / "config.json").write_text("{}")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    dest = place_tokenizer(src, ckpt)
    assert tokenizer_for(ckpt) == dest
    assert sorted(p.name for p in dest.iterdir()) == ["tokenizer.model"]
    assert place_tokenizer(src, ckpt) == dest  # placing again over it is fine

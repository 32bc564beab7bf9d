"""``compass tokenizer train`` and ``compass tokenizer eval`` end to end, and the metrics'
oracle."""

from __future__ import annotations

import base64
import json

from compass.cli import main
from compass.tokenizer.compression import compression_table, load_encoder, measure


def test_train_cli_writes_artifact(tmp_path, corpus_dir):
    out = tmp_path / "tok"
    rc = main(
        ["tokenizer", "train", "--recipe", "micro", "--data", str(corpus_dir), "--out", str(out)]
    )
    assert rc == 0
    for name in ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "config.json"]:
        assert (out / name).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stage"] == "tokenizer"
    assert manifest["metrics"]["vocab_size"] == 1024
    assert json.loads((out / "config.json").read_text())["tokenizer"]["vocab_size"] == 1024


def test_train_cli_groups_and_dry_run(tmp_path, corpus_dir, capsys):
    rc = main(
        ["tokenizer", "train", "--recipe", "micro", "--groups", "zh:600;en+vi:600", "--dry-run"]
    )
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["tokenizer"]["groups"] == "zh:600;en+vi:600"
    out = tmp_path / "g"
    argv = ["tokenizer", "train", "--recipe", "micro", "--data", str(corpus_dir), "--out", str(out)]
    assert main([*argv, "--groups", "zh:600;en+vi:600"]) == 0
    merge = json.loads((out / "manifest.json").read_text())["metrics"]["merge"]
    assert merge["kept"] + merge["reserved"] + merge["chars"] + 268 == 1024


def _bytes_only_tiktoken(path):
    path.write_text("".join(f"{base64.b64encode(bytes([b])).decode()} {b}\n" for b in range(256)))
    return path


def test_measure_matches_hand_count(tmp_path):
    enc = load_encoder(f"bytes={_bytes_only_tiktoken(tmp_path / 'b.tiktoken')}#cl100k")
    texts = ["héllo", "ไทย"]
    m = measure(enc, texts)
    n_bytes = len("héllo".encode()) + len("ไทย".encode())
    assert m["bytes"] == m["tokens"] == n_bytes  # one token per byte: no merges
    assert m["tokens_per_kb"] == 1000.0 and m["bytes_per_token"] == 1.0
    assert m["vocab_usage"] == len(set("héllo".encode() + "ไทย".encode())) / 256


def test_eval_cli_with_all_baseline_formats(tmp_path, tiny_tok_dir, merged_tok_dir, corpus_dir):
    tk = _bytes_only_tiktoken(tmp_path / "b.tiktoken")
    out = tmp_path / "eval"
    baselines = [
        f"spm={merged_tok_dir / 'tokenizer.model'}",
        f"hfjson={merged_tok_dir / 'tokenizer.json'}",
        f"bytes={tk}#o200k",
    ]
    argv = ["tokenizer", "eval", "--tokenizer", str(tiny_tok_dir), "--data", str(corpus_dir)]
    assert main([*argv, "--baseline", *baselines, "--out", str(out)]) == 0
    table = json.loads((out / "compression.json").read_text())
    assert list(table) == ["compass", "spm", "hfjson", "bytes"]
    assert set(table["compass"]) == {"en", "id", "ms", "pt", "th", "tl", "vi", "zh"}
    for lang in table["spm"]:  # the same tokenizer through both formats
        assert table["spm"][lang]["tokens"] == table["hfjson"][lang]["tokens"]
        assert table["bytes"][lang]["tokens_per_kb"] == 1000.0
        assert table["compass"][lang]["tokens_per_kb"] < 1000.0
    assert (out / "compression.png").stat().st_size > 0
    assert "| th |" in (out / "compression.md").read_text()


def test_compression_table_shape(tiny_tok_dir):
    enc = load_encoder(f"c={tiny_tok_dir}")
    table = compression_table([enc], {"en": ["hello world"], "th": ["สวัสดี"]})
    assert set(table["c"]) == {"en", "th"} and table["c"]["en"]["tokens"] > 0


def test_train_cli_bad_input_exits_2_with_the_reason(tmp_path, caplog):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.jsonl").write_bytes(b"\xff\xfe\n")
    argv = ["tokenizer", "train", "--recipe", "micro", "--data", str(tmp_path / "d")]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    assert "no usable text" in caplog.text and "not UTF-8" in caplog.text

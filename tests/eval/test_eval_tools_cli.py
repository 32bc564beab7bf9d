"""``compass eval niah | throughput | judge`` end to end on the micro model: files, config and
manifest written; a judge that cannot grade makes the command fail loudly with counted skips."""

import json

from compass.cli import main


def _manifest(out):
    m = json.loads((out / "manifest.json").read_text())
    assert (out / "config.json").exists()
    return m


def test_niah_cli(micro_artifacts, tmp_path):
    out = tmp_path / "niah"
    args = ["eval", "niah", "--model", str(micro_artifacts["ckpt"]), "--out", str(out)]
    args += [
        "--lengths",
        "200,240",
        "--depths",
        "0,50,100",
        "--langs",
        "en,id",
        "--max-tokens",
        "6",
    ]
    assert main([*args, "--test", "lines"]) == 0
    res = json.loads((out / "niah_lines.json").read_text())
    assert res["lengths"] == [200, 240] and res["depths"] == [0, 50, 100]
    assert len(res["cases"]) == 12 and (out / "niah_lines.png").exists()
    assert _manifest(out)["metrics"]["lines"] == res["accuracy"]


def test_throughput_cli(micro_server, tmp_path):
    url, _ = micro_server
    out = tmp_path / "tp"
    args = ["eval", "throughput", "--url", url, "--concurrency", "1,2", "--rounds", "1"]
    assert main([*args, "--input-tokens", "16", "--output-tokens", "4", "--out", str(out)]) == 0
    levels = json.loads((out / "throughput.json").read_text())["levels"]
    assert [lv["requests"] for lv in levels] == [1, 2]
    assert _manifest(out)["metrics"]["peak_output_tokens_per_s"] > 0


def test_judge_cli_reports_skips(micro_server, tmp_path):
    url, _ = micro_server
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"question": "2+2?", "answer": "4"}) + "\n")
    out = tmp_path / "judge"
    rc = main(["eval", "judge", "--judge-url", url, "--answers", str(answers), "--out", str(out)])
    rep = json.loads((out / "judge.json").read_text())
    # The micro model cannot hold the full rubric: a counted HTTP skip, exit status 1, no score.
    assert rc == 1 and rep["graded"] == 0 and sum(rep["skipped"].values()) == 1
    assert rep["metrics"]["score"] is None
    assert _manifest(out)["metrics"]["skipped"] == rep["skipped"]

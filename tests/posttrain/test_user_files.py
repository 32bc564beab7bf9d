"""Post-training on the user's own files, with no generated world anywhere: every accepted format
read as it is, edge cases counted by reason, bad input as one line, and SFT → reward → DPO run
to completion on the micro recipe. The fixtures in ``fixtures/`` are hand-written product-review
and shop-arithmetic rows in English, Indonesian, Vietnamese and Thai."""

import gzip
import json
import logging
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compass.cli import main
from compass.posttrain.formats import read_pairs, read_prompts, read_samples
from compass.posttrain.inputs import InputError
from compass.utils.manifest import read_manifest

FIX = Path(__file__).parent / "fixtures"
SFT_FILES = ["sft_messages.jsonl", "sft_sharegpt.jsonl", "sft_alpaca.jsonl"]


def _rows(name):
    return [json.loads(x) for x in (FIX / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture()
def alpaca_parquet(tmp_path):
    path = tmp_path / "alpaca.parquet"
    pq.write_table(pa.Table.from_pylist(_rows("sft_alpaca.jsonl")), path)
    return path


def test_every_sft_format_reads_to_messages(alpaca_parquet, tmp_path):
    gz = tmp_path / "messages.jsonl.gz"
    gz.write_bytes(gzip.compress((FIX / "sft_messages.jsonl").read_bytes()))
    samples, rejects = read_samples([gz, FIX / "sft_sharegpt.jsonl", alpaca_parquet])
    assert not rejects and len(samples) == 48 + 24 + 24
    by_src = Counter(s["source"].split(":")[0].rsplit("/", 1)[-1] for s in samples)
    assert by_src == {"messages.jsonl.gz": 48, "sft_sharegpt.jsonl": 24, "alpaca.parquet": 24}
    deep = [s for s in samples if s["long_cot"]]
    assert len(deep) == 12 and all(s["messages"][-1]["reasoning_content"] for s in deep)
    share = [s for s in samples if "sft_sharegpt" in s["source"]]
    assert [m["role"] for m in share[0]["messages"]] == ["user", "assistant"]
    assert {s["lang"] for s in share} == {""}  # no lang field: `compass data sft` detects it
    alpaca = next(s for s in samples if "alpaca" in s["source"])
    assert alpaca["messages"][0]["content"].endswith(_rows("sft_alpaca.jsonl")[0]["input"])


def test_preference_pairs_in_both_trl_forms(tmp_path):
    array = tmp_path / "implicit.json"  # a JSON array file, as datasets.to_json(lines=False) writes
    array.write_text(json.dumps(_rows("pairs_implicit.jsonl"), ensure_ascii=False))
    pairs, rejects = read_pairs([FIX / "pairs_explicit.jsonl", array])
    assert not rejects and len(pairs) == 48
    assert {p["lang"] for p in pairs} == {"en", "id", "vi", "th"}
    assert {p["kind"] for p in pairs} == {"sentiment"}
    forms = Counter(type(p["prompt"]).__name__ for p in pairs)
    assert forms == {"str": 16, "list": 32}  # string prompts, messages prompts, implicit prompts
    implicit = [p for p in pairs if "implicit.json" in p["source"]]
    assert implicit[0]["prompt"][-1]["role"] == "user" and implicit[0]["chosen"] == "Positive"
    assert all(isinstance(p["chosen"], str) and p["chosen"] != p["rejected"] for p in pairs)


def test_prompts_with_and_without_reference_answers():
    prompts, rejects = read_prompts([FIX / "prompts.jsonl"])
    assert not rejects and len(prompts) == 30
    math = [p for p in prompts if "answer" in p]
    assert len(math) == 22 and {p["category"] for p in math} == {"math"}
    assert sum(p.get("enable_thinking") is True for p in prompts) == 3
    assert sum(isinstance(p["prompt"], list) for p in prompts) == 4


def test_edge_cases_are_counted_by_reason(tmp_path):
    rows = [
        {"prompt": "q", "chosen": "same", "rejected": "same"},
        {"prompt": "q", "chosen": "a"},
        ["not", "an", "object"],
        {
            "chosen": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "a"}],
            "rejected": [{"role": "user", "content": "y"}, {"role": "assistant", "content": "b"}],
        },
        {"prompt": "q", "chosen": [{"role": "assistant", "content": "a"}] * 2, "rejected": "b"},
        {"prompt": "ok", "chosen": "good", "rejected": "bad"},
    ]
    f = tmp_path / "pairs.jsonl"
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in rows]
    f.write_bytes(b"\n".join([*lines, b"{oops", "caf\xe9".encode("latin-1")]) + b"\n")
    pairs, rejects = read_pairs([f])
    assert len(pairs) == 1
    assert rejects == Counter(
        {
            "chosen equals rejected": 1,
            "missing 'chosen' or 'rejected'": 1,
            "not a JSON object": 1,
            "implicit-prompt pair: chosen and rejected differ before their last turn": 1,
            "'chosen' must be one assistant message (multi-turn completions are not supported)": 1,
            "invalid JSON line": 1,
            "not UTF-8 (re-encode the file as UTF-8)": 1,
        }
    )


def test_a_prompt_too_long_for_the_sequence_is_counted(micro_artifacts):
    from compass.posttrain.reward.stage import tokenize_pairs
    from compass.tokenizer import load_tokenizer

    tok = load_tokenizer(micro_artifacts["tokenizer"])
    pairs = [
        {"prompt": "word " * 400, "chosen": "a", "rejected": "b"},
        {"prompt": "short", "chosen": "a", "rejected": "b"},
    ]
    skipped = Counter()
    assert len(tokenize_pairs(tok, pairs, 64, skipped)) == 1
    assert skipped == {"longer than seq_len=64": 1}


def test_bad_files_stop_with_one_line_naming_file_and_fields(tmp_path, caplog):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"text": "a document"}) + "\n")
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"text": ["a"], "label": [1]}), wrong)
    with pytest.raises(InputError, match=r"missing\.jsonl: no such file"):
        read_pairs([tmp_path / "missing.jsonl"])
    with pytest.raises(InputError, match=r"empty\.jsonl: no usable preference pairs .*no rows"):
        read_pairs([empty])
    with pytest.raises(InputError, match=r"other\.jsonl: no usable chat samples .*messages"):
        read_samples([other])
    with pytest.raises(InputError, match=r"wrong\.parquet: Parquet columns \['text', 'label'\]"):
        read_pairs([wrong])
    code = main(
        [
            "reward",
            "--recipe",
            "micro",
            "--policy",
            str(tmp_path),
            "--input",
            str(wrong),
            "--out",
            str(tmp_path / "rm"),
        ]
    )
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert code == 2 and len(errors) == 1 and "wrong.parquet" in errors[0].getMessage()


def test_selection_keeps_a_templated_task_set_and_drops_true_duplicates():
    from compass.posttrain.sft.config import SelectionConfig
    from compass.posttrain.sft.selection import select

    instruction = (
        "You are a careful annotator for an online marketplace. Read the customer "
        "review below and decide whether it is positive or negative. "
    ) * 3
    nouns = ["shoes", "lamp", "phone", "bag", "kettle", "jacket", "blender", "watch", "mug", "desk"]
    adjs = ["broke", "shines", "arrived late", "fits well", "smells odd", "is loud", "works"]
    samples = [
        {
            "messages": [
                {"role": "user", "content": f"{instruction}\nReview: my {n} {a}, order {i}"},
                {"role": "assistant", "content": "positive" if i % 2 else "negative"},
            ],
            "category": "ecommerce",
            "lang": "en",
        }
        for i, (n, a) in enumerate((n, a) for n in nouns for a in adjs)
    ] * 3
    samples = samples[:70] + samples[:70]  # 70 distinct inputs, then each again verbatim
    kept, rep = select(samples, SelectionConfig(embedder="hash", keep_frac=1.0), seed=0)
    assert len(kept) == 70 and rep["exact_duplicates"] == 70 and rep["near_duplicates"] == 0
    table = rep["by_category_lang"]["ecommerce/en"]
    assert table == {"input": 140, "kept": 70, "exact duplicate": 70}
    assert rep["examples"]["exact duplicate"]
    kept, rep = select(samples, SelectionConfig(embedder="hash"), seed=0)  # keep_frac 0.7
    assert len({json.dumps(s) for s in kept}) == len(kept) >= 0.7 * 70 - 1


SMALL = [
    "--sft.stage1.steps=2",
    "--reward.runs=1:1e-3:linear,1:2e-3:cosine",
    "--reward.base_run=",
    "--reward.bon_n=1,2",
    "--reward.bon_max_tokens=6",
    "--reward.train.seq_len=384",
    "--reward.heldout_frac=0.25",
    "--dpo.rounds=2",
    "--dpo.n_samples=2",
    "--dpo.max_tokens=6",
    "--dpo.deep_max_tokens=6",
    "--dpo.eval_max_tokens=6",
    "--dpo.eval_deep_max_tokens=6",
    "--dpo.min_margin=0",
    "--dpo.heldout_frac=0.2",
    "--dpo.train.seq_len=384",
]


def test_sft_reward_dpo_run_on_user_files_with_no_world(micro_artifacts, tmp_path, monkeypatch):
    from compass.data.synth.world import World

    def no_world(*a, **k):
        raise AssertionError("post-training must not touch the generated world")

    monkeypatch.setattr(World, "load", no_world)
    monkeypatch.setattr(World, "build", no_world)
    ckpt, tok = str(micro_artifacts["ckpt"]), str(micro_artifacts["tokenizer"])
    base = ["--recipe", "micro", *SMALL]
    sft_inputs = [x for f in SFT_FILES for x in ("--input", str(FIX / f))]
    assert main(["data", "sft", *sft_inputs, "--out", str(tmp_path / "data"), *base]) == 0
    report = json.loads((tmp_path / "data" / "report.json").read_text())
    assert set(report["by_lang"]) == {"en", "id", "vi", "th"}  # ShareGPT rows got theirs by LID
    assert report["languages_detected"] == 24
    assert (
        main(
            [
                "sft",
                "--init",
                ckpt,
                "--data",
                str(tmp_path / "data"),
                "--tokenizer",
                tok,
                "--out",
                str(tmp_path / "sft"),
                *base,
            ]
        )
        == 0
    )
    policy = str(tmp_path / "sft")
    pairs = [
        "--input",
        str(FIX / "pairs_explicit.jsonl"),
        "--input",
        str(FIX / "pairs_implicit.jsonl"),
    ]
    assert (
        main(
            [
                "reward",
                "--policy",
                policy,
                *pairs,
                "--bon",
                str(FIX / "prompts.jsonl"),
                "--out",
                str(tmp_path / "rm"),
                *base,
            ]
        )
        == 0
    )
    m = read_manifest(tmp_path / "rm")["metrics"]
    assert m["pairs"]["heldout"] > 0 and m["pairs"]["train"] + m["pairs"]["heldout"] <= 48
    assert set(m["pairwise_accuracy"]) == {"run_0", "run_1", "soup"}
    assert m["best_of_n"]["prompts"] == 22 and set(m["best_of_n"]["soup"]) == {"1", "2"}
    assert (
        main(
            [
                "dpo",
                "--policy",
                policy,
                "--reward",
                str(tmp_path / "rm"),
                "--prompts",
                str(FIX / "prompts.jsonl"),
                "--out",
                str(tmp_path / "dpo"),
                *base,
            ]
        )
        == 0
    )
    d = read_manifest(tmp_path / "dpo")["metrics"]
    assert d["prompts"]["train"] == 24 and d["prompts"]["heldout"] == 6
    assert len(d["rounds"]) == 2
    assert d["before"]["math_prompts"] == d["after"]["math_prompts"] > 0


def test_post_training_never_imports_the_world():
    root = Path(__file__).parents[2] / "compass" / "posttrain"
    offenders = [p for p in root.rglob("*.py") if "synth.world" in p.read_text(encoding="utf-8")]
    assert not offenders


def test_held_out_splits_share_no_prompt():
    from compass.posttrain.splits import split_by_prompt

    rows = [{"prompt": f"q{i % 10}", "chosen": str(i)} for i in range(40)]
    skipped = Counter()
    train, held = split_by_prompt(rows, None, 0.3, seed=1, skipped=skipped)
    assert len({r["prompt"] for r in held}) == 3 and not skipped
    assert not {r["prompt"] for r in train} & {r["prompt"] for r in held}
    assert len(train) + len(held) == 40  # a prompt's rows stay together
    given = [{"prompt": "q1", "chosen": "x"}]
    train, held = split_by_prompt(rows, given, 0.3, seed=1, skipped=skipped)
    assert held == given and all(r["prompt"] != "q1" for r in train)
    assert skipped == {"prompt also in the held-out set": 4}

"""Needle in a haystack and line retrieval: placement at the asked depth, lengths within the
context, exact scoring, the heatmap — on the micro model and on an oracle engine that reads the
needle back, so a perfect retriever scores 1 and a wrong one 0."""

import json
import re
from types import SimpleNamespace

import pytest

from compass.data.synth.lexicon import get_lexicon
from compass.eval.backend import encode_text
from compass.eval.niah import NiahConfig, build_case, grid, run_niah, score, write_niah


@pytest.fixture(scope="module")
def tok(micro_artifacts):
    from compass.tokenizer import load_tokenizer

    return load_tokenizer(micro_artifacts["tokenizer"])


def test_exact_scoring():
    assert score(" 1234567.", "1234567")
    assert score("is 1234567 and 42", "1234567")
    assert not score("12345678", "1234567")
    assert not score("123456", "1234567")
    assert not score("no number", "1234567")


@pytest.mark.parametrize("test", ["needle", "lines"])
def test_needle_lands_at_the_asked_depth(tok, test):
    import random

    cfg = NiahConfig(test=test)
    rng = random.Random(0)
    for depth in (0, 25, 50, 75, 100):
        case = build_case(tok, 400, depth, "en", cfg, rng)
        assert len(case.prompt_ids) <= 400
        # Boundaries are sentence (or line) starts: within one sentence of the target.
        assert abs(case.actual_depth - depth) < 12, (depth, case.actual_depth)
        text = tok.decode(case.prompt_ids)
        needle_at = text.index(case.value)
        haystack_end = text.rindex("\n\n")
        if depth == 0:
            assert case.actual_depth == 0 and needle_at < 60
        if depth == 100:
            # Nothing of the haystack after the needle: it sits right before the question.
            assert "\n" not in text[needle_at:haystack_end] or test == "lines"
            assert len(encode_text(tok, text[needle_at:haystack_end])) < 20
        assert text.count(case.value) == 1


class OracleEngine:
    """Answers with the needle's number for English haystacks whose needle is not last."""

    max_seq_len = 256

    def __init__(self, tok):
        self.tok = tok

    def generate(self, prompts, params):
        outs = []
        for ids in prompts:
            text = self.tok.decode(ids)
            key = re.search(r"magic number for (.+?)\? ", text).group(1)
            value = re.search(rf"for {re.escape(key)} is (\d+)", text).group(1)
            depth = text.index(value) / text.rindex("\n\n")
            english = key.rsplit(" ", 1)[0] in get_lexicon("en").foods
            right = depth < 0.5 and english
            outs.append(SimpleNamespace(text=f" {value}." if right else " 1000000."))
        return outs


def test_oracle_scores_and_grid(tok, tmp_path):
    cfg = NiahConfig(lengths=[160, 240], depths=[0, 100], langs=["en", "id"])
    cases = run_niah(OracleEngine(tok), tok, cfg)
    assert len(cases) == 2 * 2 * 2
    lengths, depths, acc = grid(cases)
    assert lengths == [160, 240] and depths == [0, 100]
    assert acc == [[0.5, 0.5], [0.0, 0.0]]  # rows: depth; columns: length; mean over languages
    paths = write_niah(cases, tmp_path)
    assert paths["png"].stat().st_size > 1000
    summary = json.loads(paths["json"].read_text())
    assert summary["accuracy"] == pytest.approx(2 / 8)
    assert summary["by_lang"] == {"en": 0.5, "id": 0.0}


def test_micro_model_runs_and_stays_within_context(micro_artifacts, tok, tmp_path):
    from compass.inference.engine import Engine

    engine = Engine.from_checkpoint(micro_artifacts["ckpt"], tok, max_batch=8)
    for test, lengths in (("needle", [128, 240]), ("lines", [240])):
        cfg = NiahConfig(lengths, depths=[0, 100], langs=["en"], test=test, max_tokens=8)
        cases = run_niah(engine, tok, cfg)
        assert all(len(c.prompt_ids) <= c.length for c in cases)
        assert all(c.correct == score(c.output, c.value) for c in cases)
        assert write_niah(cases, tmp_path, test)["png"].exists()
    with pytest.raises(ValueError, match="no room for a haystack"):
        run_niah(engine, tok, NiahConfig(lengths=[40], langs=["en"]))
    with pytest.raises(ValueError, match="exceed the model's context"):
        run_niah(engine, tok, NiahConfig(lengths=[engine.max_seq_len]))

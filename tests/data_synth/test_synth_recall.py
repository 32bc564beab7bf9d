"""Pages that teach looking back — recall pages (a fact stated, then asked for again further down)
and order pages (an item list, then a packing slip naming the same items) — and their
disjointness from the needle-in-a-haystack eval: no needle, question or haystack passage of the
eval is in the corpus."""

from __future__ import annotations

import json
import random
import re

import pytest

from compass.data.synth.config import DataGenConfig
from compass.data.synth.generate import generate
from compass.eval.niah import NiahConfig, build_case
from compass.languages import LANGS

VALUE = re.compile(r"[A-Z]{2,3}-\d{5}|\+\d{2,3} \d{3}-\d{4}-\d{4}|(?<!\d)\d{5,8}(?!\d)")
SENTENCE = re.compile(r"(?<=[.!?。！？])\s*|\n+")  # how the eval splits its haystack


class ByteTokenizer:
    """Bytes as tokens: the eval's cases need only encode/decode."""

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        return bytes(ids).decode("utf-8", "replace")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)  # the eval joins sentences with spaces, zh/th pages without


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("recall")
    cfg = DataGenConfig(n_products=120, n_docs=2500, eval_items_per_task=1, noise_fraction=0.02)
    cfg.mix["order"] = 0.1  # opt-in (off in the default mix): docs/ecommerce-sft.md §3
    generate(cfg, out, progress=False)
    return [json.loads(line) for f in sorted((out / "docs").glob("*.jsonl")) for line in open(f)]


def test_recall_pages_in_every_language_at_both_lengths(docs):
    recall = [d for d in docs if d["source"] == "recall" and not d["noise"]]
    assert 0.02 < len(recall) / len(docs) < 0.08  # a small share of the corpus
    assert {d["lang"] for d in recall} == set(LANGS)
    assert {d["meta"]["long"] for d in recall} == {True, False}
    long = [len(d["text"]) for d in recall if d["meta"]["long"]]
    short = [len(d["text"]) for d in recall if not d["meta"]["long"]]
    assert sum(long) / len(long) > 2 * sum(short) / len(short)


def test_each_question_is_answered_with_a_value_stated_earlier(docs):
    for d in (d for d in docs if d["source"] == "recall" and not d["noise"]):
        body, questions = d["text"].rsplit("\n\n", 1)
        for line in questions.splitlines():
            value = VALUE.findall(line)[-1]  # the answer ends the line
            assert value in body, (d["id"], line)


def test_no_niah_needle_question_or_haystack_in_the_corpus(docs):
    texts = [d["text"] for d in docs]
    corpus = "\x00".join(_squash(t) for t in texts)
    # By construction: other frames, other keys, no bare 7-digit number in a recall page.
    assert "special magic number" not in corpus and "REGISTER_CONTENT" not in corpus
    for d in docs:
        if d["source"] in ("recall", "order"):
            assert not re.search(r"(?<![\d-])\d{7}(?!\d)", d["text"]), d["id"]
    tok, rng, windows = ByteTokenizer(), random.Random(0), 0
    for test in ("needle", "lines"):
        cfg = NiahConfig(test=test)
        for lang in LANGS:
            for depth in (0, 50, 100):
                case = build_case(tok, 2500, depth, lang, cfg, rng)
                text = tok.decode(case.prompt_ids)
                haystack, question = text.rsplit("\n\n", 1)
                assert _squash(question) not in corpus
                assert not any(case.key in t and case.value in t for t in texts), case.key
                # No passage of three haystack sentences appears in any document.
                sents = [s for s in SENTENCE.split(haystack) if s.strip()]
                for i in range(len(sents) - 2):
                    windows += 1
                    assert _squash("".join(sents[i : i + 3])) not in corpus, sents[i : i + 3]
    assert windows > 500


def test_recall_frames_exist_for_every_language():
    from compass.data.synth import recall

    tables = (recall._HEADS, recall._QUESTIONS, recall._LABELS, recall.CHARS_PER_TOKEN)
    assert all(set(t) == set(LANGS) for t in tables)


def test_generation_is_deterministic():
    from compass.data.synth.recall import recall_doc
    from compass.data.synth.world import World

    w = World.build(1, 40, 5, 20)
    a = [recall_doc(w, lang, random.Random(3), 600) for lang in LANGS]
    b = [recall_doc(w, lang, random.Random(3), 600) for lang in LANGS]
    assert a == b


def test_recall_pages_survive_curation_filters(docs):
    """Repetition is what a recall page is made of; curation's repetition rules must still let
    most through, or the model never sees them."""
    from compass.data.curation.config import FilterConfig
    from compass.data.curation.filters import general_filter

    cfg = FilterConfig()
    for long, floor in ((False, 0.5), (True, 0.8)):
        pages = [d for d in docs if d["source"] == "recall" and d["meta"].get("long") is long]
        kept = [
            d
            for d in pages
            if d["noise"] is None and general_filter(d["text"], d["lang"], cfg)[0] is None
        ]
        assert len(kept) / len([d for d in pages if d["noise"] is None]) >= floor, long


def test_order_slips_copy_their_list_and_fit_the_main_context(docs):
    """Every item of a slip is a title and code of the list above, in the list's order, and the
    page stays within the generator's token budget (real lengths under the tiny tokenizer:
    `bench/recall_probe.py`), so the main stage's loader never separates a slip from its list."""
    from compass.data.synth.orders import _FRAMES, MAX_TOKENS
    from compass.data.synth.recall import estimate_tokens

    pages = [d for d in docs if d["source"] == "order" and not d["noise"]]
    assert 0.05 < len(pages) / len(docs) < 0.2
    assert {d["lang"] for d in pages} == set(LANGS) == set(_FRAMES)
    for d in pages:
        body, slip = d["text"].rsplit("\n\n", 1)
        lines = [ln for ln in body.splitlines() if re.match(r"\d+\. ", ln)]
        items = re.split(r": |：", slip, maxsplit=1)[1].split("; ")  # after the lead-in
        assert len(items) == len(lines) >= 2, d["id"]
        for n, (line, item) in enumerate(zip(lines, items, strict=True), 1):
            title, code = re.fullmatch(r"(.+) \(([A-Z]{2,3}-\d{5})\)", item).groups()
            assert line.startswith(f"{n}. {title} — {code} — "), d["id"]
        # Only the two items every page has may take it past the budget.
        assert len(items) == 2 or estimate_tokens(d["text"], d["lang"]) <= MAX_TOKENS + 5, d["id"]


def test_order_pages_survive_curation_filters(docs):
    from compass.data.curation.config import FilterConfig
    from compass.data.curation.filters import general_filter

    pages = [d for d in docs if d["source"] == "order" and not d["noise"]]
    kept = [d for d in pages if general_filter(d["text"], d["lang"], FilterConfig())[0] is None]
    assert len(kept) / len(pages) >= 0.9

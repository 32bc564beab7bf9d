"""On-policy math pairs: right vs wrong samples of one prompt, distinct, most frequent first,
cut-off samples left out, prompts without a pair counted with a reason."""

from collections import Counter

from compass.posttrain.reward.onpolicy import KIND, pair_samples
from compass.posttrain.sampling import Sample

ITEM = {
    "prompt": "Ana buys 2 x at $3.00 each. How much?",
    "lang": "en",
    "answer": "$6.00",
    "answer_minor": 600,
    "currency": "USD",
}


class _Tok:
    think_end_id, vocab_size = 99, 1000

    def decode(self, ids, skip_special=True):
        return " ".join(f"t{i}" for i in ids)


def _s(tid: int, text: str, finish: str = "stop") -> Sample:
    return Sample([1, 2], [tid, 99, 7], text, finish)


def test_pairs_distinct_right_vs_wrong_most_frequent_first():
    samples = [
        _s(10, "Answer: $6.00"),
        _s(20, "Answer: $8.00"),
        _s(21, "Answer: $4.00"),
        _s(21, "Answer: $4.00"),
        _s(10, "Answer: $6.00"),
        _s(11, "Answer: $6.00"),
    ]
    skipped = Counter()
    got = pair_samples(_Tok(), ITEM, samples, 3, skipped)
    assert [(p["chosen"], p["rejected"]) for p, _ in got] == [
        ("Answer: $6.00", "Answer: $4.00"),  # the most frequent right and wrong answers first
        ("Answer: $6.00", "Answer: $8.00"),
    ]  # 3 asked, but 2 distinct right and 2 distinct wrong answers make 2 different pairs
    assert [tp[0][2] for _, tp in got] == [10, 11]
    assert len(pair_samples(_Tok(), ITEM, samples[:3], 3, skipped)) == 2  # 1 right cycles
    pair, (chosen_ids, rejected_ids) = got[0]
    assert chosen_ids == [1, 2, 10, 99, 7] and rejected_ids == [1, 2, 21, 99, 7]
    assert pair["kind"] == KIND and pair["chosen_reasoning"] == "t10"
    assert not skipped


def test_no_pair_cut_off_and_unverifiable_say_why():
    skipped = Counter()
    assert (
        pair_samples(_Tok(), ITEM, [_s(1, "Answer: $6.00"), _s(2, "Answer: $6.00")], 2, skipped)
        == []
    )
    assert (
        pair_samples(
            _Tok(), ITEM, [_s(1, "Answer: $5.00"), _s(2, "Answer: $6.00", "length")], 2, skipped
        )
        == []
    )
    assert pair_samples(_Tok(), {"prompt": "q"}, [_s(1, "a"), _s(2, "b")], 2, skipped) == []
    assert skipped == Counter(
        {
            "policy math: all correct": 1,
            "policy math: no correct answer": 1,
            "policy sample cut off or empty": 1,
            "math prompt without a verifiable answer": 1,
        }
    )

"""Held-out before/after comparison of a DPO run: paired changes over the same prompts."""


def test_paired_change_is_the_mean_difference_with_its_standard_error():
    from compass.posttrain.dpo.evaluate import paired_change

    before, after = [1, 0, 0, 1, 0, 1], [1, 1, 0, 0, 1, 1]  # +2 and -1 prompts of 6
    got = paired_change(before, after)
    d = [0, 1, 0, -1, 1, 0]
    mean = sum(d) / 6
    se = (sum((x - mean) ** 2 for x in d) / 5 / 6) ** 0.5
    assert got == {"change": round(mean, 4), "se": round(se, 4), "n": 6}
    assert paired_change([], [])["n"] == 0

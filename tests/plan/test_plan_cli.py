"""``compass plan`` on the report's model: one layout in full, the ranking, a refused layout."""

from compass.cli import main


def test_plan_one_layout(capsys):
    assert (
        main(
            [
                "plan",
                "--recipe",
                "compass_v2_30b_a5b",
                "--gpus",
                "64",
                "--layout",
                "pp=4,dp_shard=16",
                "--mfu",
                "0.4",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for needle in (
        "assumed MFU 0.40",
        "parameters",
        "gradients",
        "optimizer",
        "activations",
        "none",
        "selective",
        "full",
        "communication per step",
        "pp ",
        "dp_shard ",
        "tokens/s",
        "main stage",
        "anneal stage",
    ):
        assert needle in out, needle


def test_plan_ranks_layouts_that_fit(capsys):
    assert main(["plan", "--recipe", "compass_v2_30b_a5b", "--gpus", "8", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "layouts fit; fastest first" in out and "tok/s" in out


def test_plan_refuses_bad_layout_with_numbers(caplog):
    assert (
        main(["plan", "--recipe", "compass_v2_30b_a5b", "--gpus", "64", "--layout", "ep=5,pp=4"])
        == 2
    )
    text = caplog.text
    assert "ep=5 does not divide model.n_routed_experts=48" in text
    assert "= 20, but the world has 64 processes" in text

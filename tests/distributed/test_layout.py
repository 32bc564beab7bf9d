"""Bad layouts are refused at start, with the numbers that disagree."""

import pytest

from compass.config import ConfigError
from compass.distributed.layout import ParallelConfig, parse_layout
from compass.model.config import ModelConfig

MODEL = ModelConfig(n_layers=4, n_routed_experts=8)


@pytest.mark.parametrize(
    ("layout", "world", "seq", "needles"),
    [
        ({"ep": 2, "dp_shard": 2}, 2, 64, ["dp_shard=2 × ep=2 × pp=1 × cp=1 = 4", "world has 2"]),
        ({"ep": 3}, 3, 64, ["ep=3 does not divide model.n_routed_experts=8"]),
        ({"pp": 5}, 5, 64, ["pp=5 exceeds model.n_layers=4"]),
        ({"cp": 3}, 3, 64, ["cp=3 does not divide the sequence length 64"]),
        (
            {"pp": 2, "pp_schedule": "interleaved", "pp_virtual": 3},
            2,
            64,
            ["pp=2 × pp_virtual=3 = 6 stages exceeds model.n_layers=4"],
        ),
        ({"ep": 2, "pp": 2}, 4, 64, ["composition ep × pp is not supported"]),
        ({"ep": 2, "cp": 2}, 4, 64, ["composition cp × ep is not supported"]),
    ],
)
def test_refused_with_numbers(layout, world, seq, needles):
    with pytest.raises(ConfigError) as err:
        ParallelConfig(**layout).check(MODEL, seq, world, micro_batches=8)
    for needle in needles:
        assert needle in str(err.value)


def test_pipeline_refuses_tied_embeddings():
    tied = ModelConfig(n_layers=4, n_routed_experts=8, tie_embeddings=True)
    with pytest.raises(ConfigError, match=r"pp=2 with model\.tie_embeddings=true"):
        ParallelConfig(pp=2).check(tied, 64, 2, micro_batches=2)


def test_pipeline_needs_micro_batches():
    with pytest.raises(ConfigError, match=r"pp=4 needs at least 4 micro-batches.*got 2"):
        ParallelConfig(pp=4).check(MODEL, 64, 4, micro_batches=2)


def test_supported_layouts_pass():
    for layout in ({"dp_shard": 2, "ep": 2}, {"dp_shard": 2, "pp": 2}, {"pp": 2, "cp": 2}):
        ParallelConfig(**layout).check(MODEL, 64, 4, micro_batches=4)


def test_parse_layout():
    assert parse_layout("pp=4,ep=8").world_size == 32
    with pytest.raises(ConfigError, match="tp=2"):
        parse_layout("tp=2")

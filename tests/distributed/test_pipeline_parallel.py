"""Pipeline parallel over 2 gloo processes (torch.distributed.pipelining) == one process: the
embedding on stage 0, the head and loss on stage 1, every stage's aux and z losses in the loss."""

import pytest

from tests.distributed.parity import assert_parity


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
def test_pp2_matches_one_process(schedule):
    assert_parity({"pp": 2, "pp_schedule": schedule}, world=2, packed=True)


def test_interleaved_pp2_matches_one_process():
    """Two stages per rank (rank 0: layers 0 and 2, rank 1: layers 1 and 3)."""
    assert_parity({"pp": 2, "pp_schedule": "interleaved", "pp_virtual": 2}, world=2, packed=True)

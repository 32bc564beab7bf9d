"""Expert parallel over 2 gloo processes == one process (routed experts split 4 + 4)."""

from tests.distributed.parity import assert_parity


def test_ep2_matches_one_process():
    assert_parity({"ep": 2}, world=2)

"""Context parallel over 2 gloo processes == one process: each sequence split in halves, K/V
all-gathered, RoPE on global positions, packed documents isolated across the split, and the
balance losses formed over the whole sequence."""

import pytest

from tests.distributed.parity import assert_parity


@pytest.mark.parametrize("packed", [True, False], ids=["packed-docs", "plain-causal"])
def test_cp2_matches_one_process(packed):
    assert_parity({"cp": 2}, world=2, packed=packed)

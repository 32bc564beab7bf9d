"""Two-dimensional layouts on 4 gloo processes == one process: FSDP2 × EP, FSDP2 × PP, PP × CP
(the report's long-context layout). Each piece's 2-process test stays in the default run."""

import pytest

from tests.distributed.parity import assert_parity


@pytest.mark.slow
@pytest.mark.parametrize(
    "layout",
    [{"dp_shard": 2, "ep": 2}, {"dp_shard": 2, "pp": 2}, {"pp": 2, "cp": 2}],
    ids=["fsdp2xep2", "fsdp2xpp2", "pp2xcp2"],
)
def test_4_process_composition_matches_one_process(layout):
    # 8 micro-batches: every data replica accumulates over at least two
    assert_parity(layout, world=4, packed=True, n_micro=8)

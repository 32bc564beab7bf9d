"""Shared by the quantization tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


@pytest.fixture(scope="module")
def calib():
    return torch.randint(0, 256, (4, 32), generator=torch.Generator().manual_seed(0))

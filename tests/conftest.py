"""Shared fixtures: seeded generators (never global seeds)."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))


@pytest.fixture
def generator() -> torch.Generator:
    """A freshly seeded CPU generator, so each test is reproducible on its own."""
    return torch.Generator().manual_seed(1234)


def pytest_collection_modifyitems(config, items):
    """Skip GPU tests without CUDA and Meep tests without MIT Meep, saying why."""
    has_cuda = torch.cuda.is_available()
    try:
        import importlib.util

        has_meep = importlib.util.find_spec("meep") is not None
    except ValueError:
        has_meep = False
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA device"))
        if "meep" in item.keywords and not has_meep:
            item.add_marker(
                pytest.mark.skip(
                    reason="MIT Meep not installed (apt-get install python3-meep; DESIGN.md)"
                )
            )

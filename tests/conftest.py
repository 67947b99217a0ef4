"""Suite-wide settings and fixtures: one torch thread (tiny models on a busy 2-core machine run
many times faster on one thread than on two contended ones), and the real-data samples."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

#: Where the real pose samples are (not distributed): this variable, else ../shared/data/real
#: next to the repository.
REAL_DATA_ENV = "POSEGPT_REAL_DATA"


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def real_data() -> Callable[[str], Path]:
    """`real_data("amass_sample/amass_sample.npz")`: that path under the real-data root; the
    test skips when it is absent."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
    root = Path(os.environ.get(REAL_DATA_ENV) or default)

    def need(relative: str = "") -> Path:
        path = root / relative
        if not path.exists():
            pytest.skip(f"real data not found at {path} (set {REAL_DATA_ENV})")
        return path

    return need

"""Shared test fixtures: where ../shared/data is, and skipping cleanly when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.pose import arithmetic

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_report_header() -> list[str]:
    """The CPU arithmetic the real-model tests run on, so that a failure names its machine."""
    here = arithmetic.current()
    return [f"cpu arithmetic: {here.describe()} (pose cache folder {here.short_id})"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip that says why (a user's own clone has no test material)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"{SHARED_DATA} is absent: the real-data tests need ../shared/data beside the repo"
        )
    return SHARED_DATA

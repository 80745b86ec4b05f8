"""Shared test fixtures: where ../shared/data is, and skipping cleanly when it is absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest

from device.pose import arithmetic
from device.pose.cache import runtime_version
from device.pose.runtime import runtime_module

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_report_header() -> list[str]:
    """The CPU arithmetic the real-model tests run on, so that a failure names its machine."""
    here = arithmetic.current()
    runtime, _ = runtime_module()
    return [
        f"cpu arithmetic: {here.describe()} (pose cache folder {here.short_id}); "
        f"{runtime} {runtime_version(runtime)}, OpenCV {cv2.__version__}"
    ]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip that says why (a user's own clone has no test material)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"{SHARED_DATA} is absent: the real-data tests need ../shared/data beside the repo"
        )
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def pose_cache_home(tmp_path_factory) -> Iterator[Path]:
    """The pose cache (device/pose/cache.py) of this test run: a fresh folder, never the user's
    ~/.cache, shared by the tests so that the eval's poses are computed once per run."""
    home = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(home))
        yield home

"""The one JSON encoder for everything the program prints or serves (events, the web API,
`--json` output, exports): numpy scalars become Python numbers and bools, arrays become lists."""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def default(value: Any) -> Any:
    """json's `default` hook: what the standard encoder does not know how to write."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(data: Any, **kwargs: Any) -> str:
    """json.dumps with the numpy-aware `default`."""
    return json.dumps(data, default=default, **kwargs)

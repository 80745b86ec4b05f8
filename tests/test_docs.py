"""docs/daemon.md lists every setting with its default, so the reference stays true."""

import re
from pathlib import Path

from device.daemon.config import Settings

DAEMON_DOC = Path(__file__).resolve().parents[1] / "docs" / "daemon.md"


def documented_defaults() -> dict[str, str]:
    """`section.field` -> the default column of the settings table."""
    rows = re.findall(r"^\| `(\w+\.\w+)` \| `?([^|`]*)`? \|", DAEMON_DOC.read_text(), re.M)
    return dict(rows)


def test_every_setting_is_documented_with_its_default():
    documented = documented_defaults()
    for section, model in Settings():
        for name, value in model:
            key = f"{section}.{name}"
            assert key in documented, f"{key} is missing from docs/daemon.md"
            expected = str(value).lower() if isinstance(value, bool) else str(value)
            assert documented[key].strip().strip('"') == expected, key

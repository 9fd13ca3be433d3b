"""Golden files: compare a value with the JSON file that records it. AIRWAVE_UPDATE_GOLDEN=1 rewrites a golden that
differs and then fails anyway (a rewritten file compared with itself proves nothing: review the diff, run again);
refused under CI, which only ever compares."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest


def check(path: Path, value: Any) -> None:
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    same = path.exists() and json.loads(text) == json.loads(path.read_text())
    if os.environ.get("AIRWAVE_UPDATE_GOLDEN") == "1":
        if os.environ.get("CI"):
            pytest.fail("AIRWAVE_UPDATE_GOLDEN is refused under CI: CI compares, it never rewrites goldens")
        if not same:
            path.write_text(text)
            pytest.fail(f"rewrote {path}: review the diff, then run the tests again without AIRWAVE_UPDATE_GOLDEN")
    assert path.exists(), f"missing golden {path}; run with AIRWAVE_UPDATE_GOLDEN=1"
    assert same, f"{path.stem} differs from {path}"

import json
import os
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden():
    """Compare with tests/cluster/golden/<name>.json. AIRWAVE_UPDATE_GOLDEN=1 rewrites a golden that differs and then
    fails that test anyway (a rewritten file compared with itself proves nothing: review the diff, run again);
    refused under CI."""

    def check(name: str, value) -> None:
        path = GOLDEN / f"{name}.json"
        text = json.dumps(value, indent=2, sort_keys=True) + "\n"
        same = path.exists() and json.loads(text) == json.loads(path.read_text())
        if os.environ.get("AIRWAVE_UPDATE_GOLDEN") == "1":
            if os.environ.get("CI"):
                pytest.fail("AIRWAVE_UPDATE_GOLDEN is refused under CI: CI compares, it never rewrites goldens")
            if not same:
                path.write_text(text)
                pytest.fail(f"rewrote {path}: review the diff, then run the tests again without AIRWAVE_UPDATE_GOLDEN")
        assert path.exists(), f"missing golden {path}; run with AIRWAVE_UPDATE_GOLDEN=1"
        assert same, f"{name} differs from {path}"

    return check

from pathlib import Path

import pytest

from support import golden as golden_files

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden():
    """check(name, value): compare with tests/cluster/golden/<name>.json (tests/support/golden.py)."""
    return lambda name, value: golden_files.check(GOLDEN / f"{name}.json", value)

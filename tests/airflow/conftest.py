import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Importing Airflow creates $AIRFLOW_HOME (~/airflow by default): keep tests away from any real one.
# One home per test session (tests/airflow and tests/dags both set it, before Airflow is imported).
if not os.environ.get("AIRWAVE_TEST_AIRFLOW_HOME"):
    os.environ["AIRWAVE_TEST_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airwave-test-airflow-")
    atexit.register(shutil.rmtree, os.environ["AIRWAVE_TEST_AIRFLOW_HOME"], True)
os.environ["AIRFLOW_HOME"] = os.environ["AIRWAVE_TEST_AIRFLOW_HOME"]
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden():
    """Compare with tests/airflow/golden/<name>.json; AIRWAVE_UPDATE_GOLDEN=1 rewrites them (review the diff)."""

    def check(name: str, value) -> None:
        path = GOLDEN / f"{name}.json"
        text = json.dumps(value, indent=2, sort_keys=True) + "\n"
        if os.environ.get("AIRWAVE_UPDATE_GOLDEN") == "1":
            path.write_text(text)
        assert path.exists(), f"missing golden {path}; run with AIRWAVE_UPDATE_GOLDEN=1"
        assert json.loads(text) == json.loads(path.read_text()), f"{name} differs from {path}"

    return check

import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest

from testlib import make_sample_data

# Importing Airflow creates $AIRFLOW_HOME (~/airflow by default): keep tests away from any real one, one home per
# test session (set here, before any test module imports Airflow).
if not os.environ.get("AIRWAVE_TEST_AIRFLOW_HOME"):
    os.environ["AIRWAVE_TEST_AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airwave-test-airflow-")
    atexit.register(shutil.rmtree, os.environ["AIRWAVE_TEST_AIRFLOW_HOME"], True)
os.environ["AIRFLOW_HOME"] = os.environ["AIRWAVE_TEST_AIRFLOW_HOME"]
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test that reaches for the hub must fail, not download
# The caller's object-store settings (a real AWS account, a running sandbox) must not steer the tests: the
# MinIO tests set their own.
for _var in (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AIRWAVE_SPARK_JARS",
    "AIRWAVE_SPARK_IMAGE",
    "AIRWAVE_SPARK_CPU_REQUEST_PER_CORE",
):
    os.environ.pop(_var, None)


@pytest.fixture
def write_audio(tmp_path):
    """Encode float32 audio (channels, samples) to a file with PyAV: write_audio(name, audio, rate, fmt, codec)."""

    def _write(name, audio, rate, fmt="wav", codec="pcm_s16le", sample_fmt="s16"):
        path = tmp_path / name
        make_sample_data.encode(path, np.asarray(audio, np.float32), rate, fmt, codec, sample_fmt)
        return path

    return _write

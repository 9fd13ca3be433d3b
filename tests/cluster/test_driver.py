"""The driver pod's entry point, run here for real: it must find airwave's app file, exec spark-submit with the
argv the operator built, and hand back the application's exit code (KubernetesPodOperator reads it)."""

import os
import subprocess
import sys

from airwave.cluster import specs


def run_driver(app_args):
    argv = specs.spark_submit_command(
        specs.APP_PLACEHOLDER,
        app_args,
        master="local[1]",
        conf=specs.local_spark_conf(specs.ClusterShape()),
        name="driver-test",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_")}  # driver.py must set them
    return subprocess.run(
        [sys.executable, "-m", "airwave.cluster.driver", *argv], capture_output=True, text=True, timeout=120, env=env
    )


def test_driver_execs_spark_submit_with_airwave_and_passes_exit_codes():
    ok = run_driver(["stage", "postprocess", "--help"])
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "usage: airwave stage postprocess" in ok.stdout
    bad = run_driver(["stage", "no-such-stage"])
    assert bad.returncode == 2 and "invalid choice" in bad.stdout + bad.stderr  # Spark merges the streams

"""hack/e2e.py's REST calls and the DAG-sync settings, against a real Airflow 3.3 on this machine
(SQLite, no cluster): api-server + dag-processor run with the auth and dag-processor settings taken
from stack/airflow/config.yaml. Proves the login (passwords file, as the api-server container
does it), pause/trigger/state calls, and the Airflow half of the save -> parsed latency (git-sync's
2 s poll and the push come on top in the cluster). About 40 s, hence `slow`."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, find

sys.path.insert(0, str(ROOT / "hack"))
import e2e  # noqa: E402

pytestmark = pytest.mark.slow
TAKEN_FROM_STACK = [  # settings that decide login and DAG pick-up speed
    "AIRFLOW__CORE__AUTH_MANAGER", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
]
DAG = "from airflow.sdk import DAG, Param\nwith DAG({dag_id!r}, schedule=None, params={{'input': Param('x')}}):\n    pass\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def airflow(rendered, tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    dags = home / "dags"
    dags.mkdir()
    (dags / "asr_pipeline.py").write_text(DAG.format(dag_id="asr_pipeline"))
    cfg = find(rendered, "ConfigMap", "airflow-env")["data"]
    users = find(rendered, "Secret", "airflow-api-users")["stringData"]["passwords.json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    env.update({k: cfg[k] for k in TAKEN_FROM_STACK})
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__DAGS_FOLDER=str(dags),
               AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
               AIRFLOW__API_AUTH__JWT_SECRET="test-only-jwt-secret-0123456789abcdef",
               AIRFLOW__CORE__EXECUTOR="LocalExecutor")
    (home / "passwords.json").write_text(users)  # what the api-server container's command does
    airflow_bin = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow_bin, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    procs = [subprocess.Popen([airflow_bin, *cmd], env=env, stdout=open(home / f"{cmd[0]}.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
             for cmd in (["api-server", "--port", str(port)], ["dag-processor"])]
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                af = e2e.Airflow(url, "admin", "admin")
                break
            except OSError:
                assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
                    (home / "api-server.log").read_text()[-2000:]
                time.sleep(1)
        yield af, dags
    finally:
        for p in procs:  # each started in its own session: end the whole group we started
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_login_trigger_and_state_calls_of_the_e2e_driver(airflow):
    af, _ = airflow
    assert af.wait_dag("asr_pipeline", timeout=60) >= 0
    assert af.call("PATCH", "/dags/asr_pipeline", {"is_paused": False})["is_paused"] is False
    run = af.call("POST", "/dags/asr_pipeline/dagRuns", {"logical_date": None, "conf": {"input": "s3a://raw/x/"}})
    assert run["conf"] == {"input": "s3a://raw/x/"} and run["state"] in ("queued", "running", "success")
    got = af.call("GET", f"/dags/asr_pipeline/dagRuns/{run['dag_run_id']}")
    assert got["dag_run_id"] == run["dag_run_id"]
    assert "task_instances" in af.call("GET", f"/dags/asr_pipeline/dagRuns/{run['dag_run_id']}/taskInstances")
    with pytest.raises(Exception, match="401"):
        e2e.Airflow(af.base, "admin", "wrong-password")


def test_new_dag_file_is_parsed_quickly(airflow):
    """Budget for the Airflow side: 15 s target - 2 s git-sync poll - ~1 s push."""
    af, dags = airflow
    for i in range(3):
        dag_id = f"sync_probe_{i}_{int(time.time())}"
        t0 = time.monotonic()
        (dags / f"sync_probe_{i}.py").write_text(DAG.format(dag_id=dag_id))
        seconds = af.wait_dag(dag_id, timeout=60)
        print(f"new DAG file -> in the REST API after {time.monotonic() - t0:.1f} s")
        assert seconds < 12, f"{dag_id} took {seconds:.1f} s"
        time.sleep(1.7)  # land at different points of the refresh cycle

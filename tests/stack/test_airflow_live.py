"""The e2e's Airflow client (tests/support/sandbox.py) and the DAG delivery path, against a real Airflow 3.3 on this
machine (SQLite, no cluster; tests/support/localstack.py): hack/push-dags.sh -> the git server -> a git-sync-style
poller -> dag-processor -> api-server, with the auth and dag-processor settings taken from the rendered stack.
Proves the login (passwords file, as the api-server container does it), pause/trigger/state calls, that the real
DAGs parse from the synced repo layout (DAG folder + PYTHONPATH as in the ConfigMap), and that a pushed DAG file
gets parsed. How fast that is, is measured by bench/dag_sync.py, not asserted here. About a minute, hence `slow`."""

from __future__ import annotations

import pytest
import requests
from airflow_client.client import DAGPatchBody, TriggerDAGRunPostBody

from support import localstack
from support.sandbox import Airflow

from .conftest import find

pytestmark = pytest.mark.slow
TAKEN_FROM_STACK = [  # settings that decide login and DAG pick-up
    "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
    "AIRFLOW__CORE__LOAD_EXAMPLES",
]
DAG = "from airflow.sdk import DAG\nwith DAG({dag_id!r}, schedule=None):\n    pass\n"


@pytest.fixture(scope="module")
def airflow(rendered, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    work = localstack.working_tree(tmp / "work")
    cfg = find(rendered, "ConfigMap", "airflow-env")["data"]
    users = find(rendered, "Secret", "airflow-api-users")["stringData"]["passwords.json"]

    def push():
        localstack.push_dags(work, url)

    with localstack.git_server(tmp / "git") as url:
        push()
        with localstack.git_poller(url, tmp / "sync") as link:
            # The ConfigMap's layout, rooted here: DAGs from <link>/dags, the airwave package from <link>/src.
            assert cfg["AIRFLOW__CORE__DAGS_FOLDER"].endswith("/repo/dags") and cfg["PYTHONPATH"].endswith("/repo/src")
            env = localstack.airflow_env(
                tmp / "airflow", link / "dags", {k: cfg[k] for k in TAKEN_FROM_STACK}, {"PYTHONPATH": str(link / "src")}
            )
            with localstack.airflow(tmp / "airflow", env, users) as af:
                yield af, work, push


def test_login_trigger_and_state_calls_of_the_e2e_client(airflow):
    af, _, _ = airflow
    assert af.wait_dag("asr_pipeline", timeout=180) >= 0
    assert af.dags.patch_dag("asr_pipeline", DAGPatchBody(is_paused=False)).is_paused is False
    run = af.runs.trigger_dag_run(
        "asr_pipeline", TriggerDAGRunPostBody(logical_date=None, conf={"input": "s3a://raw/x/"})
    )
    assert run.conf == {"input": "s3a://raw/x/"} and run.state.value in ("queued", "running", "success")
    assert af.runs.get_dag_run("asr_pipeline", run.dag_run_id).dag_run_id == run.dag_run_id
    assert af.run_state("asr_pipeline", run.dag_run_id) in ("queued", "running", "success", "failed")
    assert isinstance(af.task_states("asr_pipeline", run.dag_run_id), dict)
    with pytest.raises(requests.HTTPError, match="401"):
        Airflow(af.base, "admin", "wrong-password")


def test_the_repo_dags_parse_from_the_synced_layout(airflow):
    af, _, _ = airflow
    for dag_id in ("asr_pipeline", "audio_retention", "production_sampling", "spark_shape_sweep"):
        af.wait_dag(dag_id, timeout=180)
    assert not af.import_errors.get_import_errors().import_errors


def test_a_pushed_dag_file_gets_parsed(airflow):
    af, work, push = airflow
    (work / "dags" / "sync_probe.py").write_text(DAG.format(dag_id="sync_probe"))
    push()
    af.wait_dag("sync_probe", timeout=120)

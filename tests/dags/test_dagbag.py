"""The DAG folder parses, and the DAGs keep the rules the issue sets: retries everywhere, Spark tasks pooled."""

from pathlib import Path

import pytest

pytest.importorskip("airflow.sdk")

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

from airwave.cluster.specs import stack  # noqa: E402
from airwave.operators import SparkClusterOperator  # noqa: E402

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    # known_pools: a task in a pool the stack does not create shows up in dag_warnings.
    return DagBag(dag_folder=str(DAGS), known_pools={"default_pool", stack()["airflow"]["spark_pool"]})


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert [w.message for w in dagbag.dag_warnings] == []  # e.g. "references non-existent pools"


def test_expected_dags(dagbag):
    assert set(dagbag.dag_ids) == {"asr_pipeline", "audio_retention", "production_sampling", "spark_shape_sweep"}
    for dag in dagbag.dags.values():
        assert dag.doc_md and dag.dag_id in dag.doc_md  # shown in the UI


def test_every_task_retries_and_spark_tasks_use_the_pool(dagbag):
    pool = stack()["airflow"]["spark_pool"]
    spark_tasks = 0
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            assert t.retries >= 1, f"{dag.dag_id}.{t.task_id} has no retries"
            if issubclass(getattr(t, "operator_class", type(t)), SparkClusterOperator):  # mapped ones too
                spark_tasks += 1
                assert t.pool == pool, f"{dag.dag_id}.{t.task_id} is not in pool {pool}"
    assert spark_tasks == 7  # asr_pipeline 4, spark_shape_sweep 3 (preprocess, transcribe_shape, frontier)


def test_asr_pipeline_shape(dagbag):
    dag = dagbag.dags["asr_pipeline"]  # get_dag() would query the metadata DB
    order = ["check_settings", "preprocess", "transcribe", "postprocess", "has_references", "evaluate"]
    for up, down in zip(order, order[1:], strict=False):
        assert dag.get_task(up).downstream_task_ids == {down}
    assert dag.get_task("evaluate").downstream_task_ids == set()
    assert {
        "input",
        "runs_base",
        "model",
        "refs",
        "preprocess_cluster",
        "transcribe_cluster",
        "postprocess_cluster",
    } <= set(dag.params.keys())


def test_roles_default_is_the_clis(dagbag):
    from airwave.settings import DEFAULT_ROLES

    assert dagbag.dags["asr_pipeline"].params["roles"] == DEFAULT_ROLES


def test_run_scoped_paths_render_safely(dagbag):
    """`runs/<run_id>`, with the characters Hadoop paths reject (':' '+') replaced."""
    dag = dagbag.dags["asr_pipeline"]  # get_dag() would query the metadata DB
    t = dag.get_task("transcribe")
    run_uri = t.application_args[t.application_args.index("--out") + 1]
    env = dag.get_template_env()
    out = env.from_string(run_uri).render(
        params={"runs_base": "s3a://runs/"}, run_id="manual__2026-11-28T20:39:54.375447+00:00"
    )
    assert out == "s3a://runs/runs/manual__2026-11-28T20_39_54.375447_00_00"
    shape = {
        k: env.from_string(getattr(t, k)).render(params=dag.params.dump())
        for k in ("executors", "executor_cores", "executor_memory", "driver_memory")
    }
    assert shape == {k: str(v) for k, v in dag.params["transcribe_cluster"].items()}


def test_spark_shape_sweep_shape(dagbag):
    """One mapped SparkClusterOperator per shape, one at a time, between the shared preprocess and the frontier."""
    dag = dagbag.dags["spark_shape_sweep"]
    order = ["check_settings", "take_sample", "preprocess", "shapes", "transcribe_shape", "frontier", "recommended"]
    for up, down in zip(order, order[1:], strict=False):
        assert dag.get_task(up).downstream_task_ids == {down}
    mapped = dag.get_task("transcribe_shape")
    assert mapped.operator_class is SparkClusterOperator and mapped.max_active_tis_per_dagrun == 1
    assert {"input", "runs_base", "refs", "sample_files", "grid", "wer_tolerance"} <= set(dag.params.keys())
    env = dag.get_template_env()
    params = {"runs_base": "s3a://runs", "grid": {"executors": [2]}, "wer_tolerance": 0.01}
    args = [
        env.from_string(a).render(params=params, run_id="manual__2026-11-28T20:39:54+00:00")
        for a in dag.get_task("frontier").application_args
    ]
    assert args == [
        "sweep-report",
        "s3a://runs/runs/manual__2026-11-28T20_39_54_00_00",
        "--grid",
        '{"executors": [2]}',
        "--wer-tolerance",
        "0.01",
    ]

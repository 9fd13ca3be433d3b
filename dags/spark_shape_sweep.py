"""
### spark_shape_sweep

Which Spark cluster shape should transcribe run on? The transcribe stage on a sample of the input under a grid of
shapes (executors x executor_cores x cpu_threads (threads per model = spark.task.cpus) x batch_size; the `grid`
param), each shape its own Spark cluster, then the Pareto frontier of wall time vs core-seconds among the shapes
with (nearly) the best WER, and the recommended shape.

**check_settings** (every param, before any cluster; not retried) -> **take_sample** (the first `sample_files`
input files that have a reference, copied to `RUN/sample/`) -> **preprocess** (the sample, once) -> **shapes**
(the grid, expanded) -> **transcribe_shape** (one mapped `SparkClusterOperator` per shape, pool `spark_clusters`,
one at a time so that shapes do not compete for cores; each writes `RUN/shapes/<id>/`) -> **frontier** (WER per
shape, `RUN/sweep.json`, `RUN/sweep.png`) -> **recommended** (the chosen shape, as the task's return value).

RUN = `<runs_base>/runs/<run_id>/`. The measures and the rule are in `src/airwave/sweep.py`; `airwave sweep` runs
the same sweep without Airflow.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airwave.cluster.specs import stack
from airwave.operators import SparkClusterOperator
from airwave.runs import FILTERS, RUN, cluster_fields, default_locations
from airwave.settings import environment
from airwave.sweep import DEFAULT_GRID, WER_TOLERANCE, sample_audio

REPO = Path(__file__).resolve().parents[1]
INPUT, RUNS_BASE, REFS = default_locations(REPO, environment())

with DAG(
    dag_id="spark_shape_sweep",
    schedule=None,
    catchup=False,
    max_active_runs=1,  # two sweeps at once would time each other
    doc_md=__doc__,
    tags=["airwave", "spark", "benchmark"],
    user_defined_filters=FILTERS,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "owner": "airwave"},
    params={
        "input": Param(INPUT, type="string", description="folder or prefix with call audio (path, file://, s3a://)"),
        "runs_base": Param(RUNS_BASE, type="string", description="results go to <runs_base>/runs/<run_id>/"),
        "refs": Param(REFS, type="string", description="reference manifest.json: WER of every shape (required)"),
        "sample_files": Param(
            2, type="integer", minimum=0, description="the first N input files that have a reference; 0 = all of them"
        ),
        "grid": Param(
            DEFAULT_GRID,
            type="object",
            description="lists of executors, executor_cores, cpu_threads, batch_size; every valid "
            "combination (cpu_threads <= executor_cores) is one shape",
        ),
        "wer_tolerance": Param(
            WER_TOLERANCE,
            type="number",
            minimum=0,
            description="shapes within this WER of the best compete on time and cost (0.005 = half a point)",
        ),
        "executor_memory": Param("4g", type="string", description="every shape's executor memory"),
        "driver_memory": Param("2g", type="string", description="every shape's driver memory"),
        "model": Param("", type="string", description="ASR model name or folder; empty = the CLI default"),
        "beam_size": Param("", type=["string", "integer"], description="empty = the CLI default"),
        "compute_type": Param("int8", type="string"),
        "preprocess_cluster": Param(
            {"executors": 1, "executor_cores": 2, "executor_memory": "2g", "driver_memory": "1g"},
            type="object",
            description="Spark cluster that preprocesses the sample (local backend: executors x executor_cores "
            "threads)",
        ),
    },
) as dag:

    @task(doc_md="Every param checked before any Spark cluster starts; a bad one fails at once (not retried).")
    def check_settings(params=None):
        from airflow.sdk.exceptions import AirflowFailException

        from airwave import settings, sweep
        from airwave.operators import configured_backend

        try:  # on Kubernetes the model lives in the Spark image: each shape's driver checks it
            shapes = sweep.check(
                input=params["input"],
                out=params["runs_base"],
                refs=params["refs"],
                sample=params["sample_files"],
                grid=params["grid"],
                wer_tolerance=params["wer_tolerance"],
                executor_memory=params["executor_memory"],
                driver_memory=params["driver_memory"],
                model=params["model"],
                beam_size=params["beam_size"],
                compute_type=params["compute_type"],
                check_model=configured_backend() == "local",
            )
            settings.check_cluster("preprocess_cluster", params["preprocess_cluster"])
        except settings.SettingsError as e:
            raise AirflowFailException(f"bad setting: {e}") from None
        print(f"{len(shapes)} shapes: {', '.join(s.id for s in shapes)}")

    @task(doc_md="Copy the sample (input files with a reference) and its references to `RUN/sample/`.")
    def take_sample(run: str, params=None) -> dict:
        from airwave import sweep

        return sweep.take_sample(params["input"], run, params["refs"], params["sample_files"])

    preprocess = SparkClusterOperator(
        task_id="preprocess",
        doc_md="The sample, preprocessed once for every shape: `RUN/preprocess/chunks`.",
        application_args=["stage", "preprocess", "--input", sample_audio(RUN), "--out", RUN],
        **cluster_fields("preprocess_cluster"),
    )

    @task(doc_md="The grid's shapes, each as the cluster and arguments of one transcribe_shape task.")
    def shapes(run: str, params=None) -> list[dict]:
        from airwave import sweep

        return sweep.operator_kwargs(
            run,
            sweep.expand(params["grid"]),
            executor_memory=params["executor_memory"],
            driver_memory=params["driver_memory"],
            model=params["model"],
            beam_size=params["beam_size"],
            compute_type=params["compute_type"],
        )

    shape_kwargs = shapes(RUN)
    transcribe_shape = SparkClusterOperator.partial(
        task_id="transcribe_shape",
        doc_md="The transcribe stage on the sample's chunks on one shape's cluster; writes `RUN/shapes/<id>/`.",
        pool=stack()["airflow"]["spark_pool"],  # partial() does not run the operator's own default
        max_active_tis_per_dagrun=1,  # one shape at a time: their wall times must not share cores
        map_index_template="{{ task.application_args[3].rstrip('/').rsplit('/', 1)[-1] }}",  # the shape id
    ).expand_kwargs(shape_kwargs)

    frontier = SparkClusterOperator(
        task_id="frontier",
        doc_md="WER per shape, the Pareto frontier and the recommended shape: `RUN/sweep.json`, `RUN/sweep.png`. "
        "A small cluster: it is plain Python (in the Spark image, which has the WER and plot libraries).",
        application_args=[
            "sweep-report",
            RUN,
            "--grid",
            "{{ params.grid | tojson }}",
            "--wer-tolerance",
            "{{ params.wer_tolerance }}",
        ],
        executors=1,
        executor_cores=1,
        executor_memory="1g",
        driver_memory="1g",
    )

    @task(doc_md="The recommended shape and the frontier, from `RUN/sweep.json`.")
    def recommended(run: str) -> dict:
        import json

        from airwave import storage

        doc = json.loads(storage.read_bytes(storage.join(run, "sweep.json")))
        best = next(r for r in doc["shapes"] if r["shape"] == doc["recommended"])
        print(
            f"recommended shape: {best['shape']} ({best['wall_s']} s, {best['core_s']} core-s, WER "
            f"{best['wer']:.1%}); frontier: {', '.join(doc['frontier'])}"
        )
        return {"recommended": best, "frontier": doc["frontier"], "sweep": storage.join(run, "sweep.json")}

    (
        check_settings()
        >> take_sample(RUN)
        >> preprocess
        >> shape_kwargs
        >> transcribe_shape
        >> frontier
        >> recommended(RUN)
    )

"""
### asr_pipeline

Batch speech-to-text for a folder/prefix of call recordings:
**check_settings** (every param, before any Spark cluster; a bad one fails the run at once, without retries) ->
**preprocess** (decode, split channels, VAD, chunks) -> **transcribe** (faster-whisper) -> **postprocess**
(ordering, roles, PII redaction, JSON/SRT/VTT) -> **evaluate** (WER, only when a reference manifest exists).

Each Spark task gets its own Spark cluster (`SparkClusterOperator`): `local[N]` inside the worker by default, or
a driver pod plus executor pods on Kubernetes when the Variable `airwave_spark_backend` is `kubernetes`. The pool
`spark_clusters` caps how many of those clusters exist at once.

Everything a run writes is under `<runs_base>/runs/<run_id>/`; a retried task replaces only its own stage's output.
Transcripts: `<runs_base>/runs/<run_id>/calls/`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airwave.operators import SparkClusterOperator
from airwave.runs import FILTERS, RUN, cluster_fields, default_locations
from airwave.settings import DEFAULT_ROLES, environment

REPO = Path(__file__).resolve().parents[1]
# Defaults for the embedded demo; on Kubernetes the Airflow pods set these to s3a:// locations.
INPUT, RUNS_BASE, REFS = default_locations(REPO, environment())


def cluster_param(executors: int, cores: int, memory: str, driver_memory: str) -> Param:
    return Param(
        {"executors": executors, "executor_cores": cores, "executor_memory": memory, "driver_memory": driver_memory},
        type="object",
        description="Spark cluster for this stage (local backend: executors x executor_cores threads)",
    )


def cluster(stage: str) -> dict[str, str]:
    return cluster_fields(f"{stage}_cluster")


with DAG(
    dag_id="asr_pipeline",
    schedule=None,
    catchup=False,
    max_active_runs=2,
    doc_md=__doc__,
    tags=["airwave", "asr", "spark"],
    user_defined_filters=FILTERS,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30), "owner": "airwave"},
    params={
        "input": Param(INPUT, type="string", description="folder or prefix with call audio (path, file://, s3a://)"),
        "runs_base": Param(RUNS_BASE, type="string", description="results go to <runs_base>/runs/<run_id>/"),
        "refs": Param(REFS, type="string", description="reference manifest.json; evaluation is skipped if absent"),
        "roles": Param(DEFAULT_ROLES, type="string", description="channel -> speaker role"),
        "model": Param("", type="string", description="ASR model name or folder; empty = the CLI default"),
        "beam_size": Param("", type=["string", "integer"], description="empty = the CLI default"),
        "device": Param(
            "cpu", enum=["cpu", "cuda"], description="cuda: executors need a GPU each (see specs.executor_pod_template)"
        ),
        "compute_type": Param("", type="string", description="empty = int8 on cpu, float16 on cuda"),
        "preprocess_cluster": cluster_param(1, 2, "2g", "1g"),
        "transcribe_cluster": cluster_param(1, 2, "4g", "2g"),
        "postprocess_cluster": cluster_param(1, 1, "2g", "1g"),
    },
) as dag:

    @task(doc_md="Every param checked before any Spark cluster starts; a bad one fails at once (not retried).")
    def check_settings(params=None):
        from airflow.sdk.exceptions import AirflowFailException

        from airwave import settings
        from airwave.operators import configured_backend

        try:  # the model lives in the Spark image on Kubernetes: there its driver checks it, before any executor
            settings.check_run(params, model=configured_backend() == "local")
        except settings.SettingsError as e:
            raise AirflowFailException(f"bad setting: {e}") from None

    preprocess = SparkClusterOperator(
        task_id="preprocess",
        doc_md="Decode, split channels, resample, VAD; writes `preprocess/{chunks,rejects}`.",
        application_args=[
            "stage",
            "preprocess",
            "--input",
            "{{ params.input }}",
            "--out",
            RUN,
            "--roles",
            "{{ params.roles }}",
        ],
        **cluster("preprocess"),
    )
    transcribe = SparkClusterOperator(
        task_id="transcribe",
        doc_md="faster-whisper over the chunks, one model per Python worker; writes `transcribe/segments`.",
        application_args=[
            "stage",
            "transcribe",
            "--out",
            RUN,
            "--model",
            "{{ params.model }}",
            "--beam-size",
            "{{ params.beam_size }}",
            "--device",
            "{{ params.device }}",
            "--compute-type",
            "{{ params.compute_type }}",
        ],
        **cluster("transcribe"),
    )
    postprocess = SparkClusterOperator(
        task_id="postprocess",
        doc_md="Order turns across channels, redact PII, write `calls/*.json|srt|vtt`, `summary/`, `report.json`.",
        application_args=["stage", "postprocess", "--out", RUN],
        **cluster("postprocess"),
    )

    @task.short_circuit(doc_md="Skip evaluation when there is no reference manifest.")
    def has_references(refs: str) -> bool:
        from airwave import storage

        return bool(refs) and storage.exists(refs)

    evaluate = SparkClusterOperator(
        task_id="evaluate",
        doc_md="WER against the references; writes `eval/report.json`. Small cluster: it is plain Python.",
        application_args=["eval", RUN, "--refs", "{{ params.refs }}"],
        executors=1,
        executor_cores=1,
        executor_memory="1g",
        driver_memory="1g",
    )

    check_settings() >> preprocess >> transcribe >> postprocess >> has_references("{{ params.refs }}") >> evaluate

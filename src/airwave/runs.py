"""What the DAGs share about a run (no Airflow import): where it writes, and the default locations.

Every DAG run writes under `<runs_base>/runs/<run_id>/` (RUN, a template; the run id made path-safe by the
`safe_id` filter, which a DAG using RUN registers with `user_defined_filters=FILTERS`).
"""

from __future__ import annotations

from pathlib import Path

from airwave.cluster.specs import safe_run_id
from airwave.settings import CLUSTER_KEYS, Environment

RUN = "{{ params.runs_base.rstrip('/') }}/runs/{{ run_id | safe_id }}"
FILTERS = {"safe_id": safe_run_id}


def default_locations(repo: Path, env: Environment) -> tuple[str, str, str]:
    """(input, runs_base, refs): AIRWAVE_INPUT / AIRWAVE_RUNS_BASE / AIRWAVE_REFS (s3a:// on the kind stack), else
    the repo's sample_data/, out/ and sample_data/manifest.json (the embedded demo)."""
    inp = env.input or str(repo / "sample_data")
    runs_base = env.runs_base or str(repo / "out")
    refs = env.refs or inp.rstrip("/") + "/manifest.json"
    return inp, runs_base, refs


def cluster_fields(param: str) -> dict[str, str]:
    """A SparkClusterOperator's shape from the object param `param` (templated)."""
    return {k: f"{{{{ params.{param}.{k} }}}}" for k in CLUSTER_KEYS}

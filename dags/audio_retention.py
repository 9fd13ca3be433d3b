"""
### audio_retention

Deletes raw audio and pipeline intermediates older than their retention period, per prefix
(`policies`: a list of `{"prefix": ..., "keep_days": N, "include": [fnmatch patterns relative to the prefix]}`).

**Dry run by default**: set `dry_run` to false to delete. Every run writes an audit record of what it deleted (or
would have) to `<audit_prefix>/retention/<run_id>.json`. Nothing outside the configured prefixes is ever touched.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, Param, task

from airwave.settings import environment

REPO = Path(__file__).resolve().parents[1]
ENV = environment()
RUNS_BASE = (ENV.runs_base or str(REPO / "out")).rstrip("/")
# Default: intermediates of pipeline runs after 14 days (transcripts stay). Raw audio only when configured,
# e.g. AIRWAVE_RETENTION_POLICIES='[{"prefix": "s3a://raw", "keep_days": 90}]'.
DEFAULT_POLICIES = (
    ENV.retention_policies
    if ENV.retention_policies is not None
    else [
        {
            "prefix": f"{RUNS_BASE}/runs",
            "keep_days": 14,
            "include": ["*/preprocess/*", "*/transcribe/*", "*/sample/audio/*"],
        },  # a shape sweep's copy of its sample
    ]
)

with DAG(
    dag_id="audio_retention",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["airwave", "retention"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "owner": "airwave"},
    params={
        "policies": Param(DEFAULT_POLICIES, type="array", description="[{prefix, keep_days, include?}]"),
        "dry_run": Param(True, type="boolean", description="report only; set false to delete"),
        "audit_prefix": Param(f"{RUNS_BASE}/audit", type="string"),
    },
) as dag:

    @task(doc_md="Apply the policies and write the audit record.")
    def enforce_retention(params=None, run_id=None, data_interval_end=None):
        from airwave import retention, storage
        from airwave.cluster.specs import safe_run_id

        audit = storage.join(params["audit_prefix"], "retention", f"{safe_run_id(run_id)}.json")
        rec = retention.apply(
            params["policies"], now=data_interval_end, dry_run=params["dry_run"], audit_uri=audit, run_id=run_id
        )
        verb = "would delete" if rec["dry_run"] else "deleted"
        print(f"{verb} {rec['deleted_count']} objects ({rec['deleted_bytes']} bytes); audit: {audit}")
        return {"audit": audit, "deleted": rec["deleted_count"], "dry_run": rec["dry_run"]}

    enforce_retention()

"""
### production_sampling

Every hour, copies a deterministic sample (`rate`, `seed`) of the calls that arrived in the source prefix during
the run's data interval into the evaluation prefix, with a manifest `_samples/<interval>.json`, for downstream
model evaluation. The same call is always in or out for a given seed and rate, so reruns copy the same files.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, task

from airwave.settings import environment

REPO = Path(__file__).resolve().parents[1]
ENV = environment()
SOURCE = ENV.raw_prefix or str(REPO / "sample_data")
EVAL = ENV.eval_prefix or str(REPO / "out" / "eval")

with DAG(
    dag_id="production_sampling",
    # A data-interval timetable: each run owns the window [data_interval_start, data_interval_end).
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["airwave", "evaluation"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "owner": "airwave"},
    params={
        "source": Param(SOURCE, type="string", description="where new calls arrive"),
        "dest": Param(EVAL, type="string", description="evaluation prefix"),
        "rate": Param(0.1, type="number", minimum=0, maximum=1),
        "seed": Param("airwave", type="string"),
    },
) as dag:

    @task(doc_md="Select and copy this interval's sample; writes the sample manifest.")
    def sample_new_calls(params=None, data_interval_start=None, data_interval_end=None):
        from airwave import sampling, storage

        window = f"{data_interval_start:%Y%m%dT%H%M%S}-{data_interval_end:%Y%m%dT%H%M%S}"
        manifest = storage.join(params["dest"], "_samples", f"{window}.json")
        rec = sampling.sample(
            params["source"],
            params["dest"],
            start=data_interval_start,
            end=data_interval_end,
            rate=float(params["rate"]),
            seed=params["seed"],
            manifest_uri=manifest,
        )
        print(f"{len(rec['sampled'])} of {rec['arrived']} new calls sampled into {params['dest']}; manifest {manifest}")
        return {"manifest": manifest, "arrived": rec["arrived"], "sampled": len(rec["sampled"])}

    sample_new_calls()

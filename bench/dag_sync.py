#!/usr/bin/env python3
"""DAG sync latency: seconds from saving a DAG file to Airflow's REST API listing it (target < 15 s).

The stack's path, run as processes on this machine (tests/support/localstack.py): a working tree -> hack/push-dags.sh
(what Tilt's `dags-push` runs on a save) -> the git server (stack/git-server/server.py) -> a git-sync-style
poller (2 s period, like GITSYNC_PERIOD) -> the dag-processor (settings from stack/airflow/config.yaml) ->
the api-server. Baseline in the same run: the file written straight into the synced folder, i.e. the Airflow
side alone. Not included: Tilt's file-watch debounce (well under 1 s) and pod networking.

    .venv/bin/python -m bench.dag_sync [--trials 5]
Results also go to .bench/dag_sync.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from tests.support import localstack

ROOT = Path(__file__).resolve().parents[1]

PROBE = "from airflow.sdk import DAG\nwith DAG({dag_id!r}, schedule=None, tags=['probe']):\n    pass\n"
# Settings from the stack that decide login and how fast a new file is picked up.
FROM_STACK = [
    "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
]


def stack_config() -> tuple[dict[str, str], str, float]:
    """(Airflow env from the ConfigMap, passwords.json from the Secret, git-sync period in s)."""
    cfg = yaml.safe_load((ROOT / "stack/airflow/config.yaml").read_text())["data"]
    secrets = {d["metadata"]["name"]: d for d in yaml.safe_load_all((ROOT / "stack/airflow/secrets.yaml").read_text())}
    proc = yaml.safe_load((ROOT / "stack/airflow/dag-processor.yaml").read_text())
    sync = next(c for c in proc["spec"]["template"]["spec"]["containers"] if c["name"] == "git-sync")
    period = next(e["value"] for e in sync["env"] if e["name"] == "GITSYNC_PERIOD")
    return (
        {k: cfg[k] for k in FROM_STACK},
        secrets["airflow-api-users"]["stringData"]["passwords.json"],
        float(period.rstrip("s")),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    a = ap.parse_args()
    config, passwords, period = stack_config()
    with tempfile.TemporaryDirectory(prefix="airwave-dagsync-") as t:
        tmp = Path(t)
        work = localstack.working_tree(tmp / "work")
        with localstack.git_server(tmp / "git") as url:
            localstack.push_dags(work, url)
            with localstack.git_poller(url, tmp / "sync", period=period) as link:
                deadline = time.monotonic() + 60
                while not (link / "dags").is_dir():
                    assert time.monotonic() < deadline, "the poller never checked the repo out"
                    time.sleep(0.2)
                env = localstack.airflow_env(tmp / "airflow", link / "dags", config, {"PYTHONPATH": str(link / "src")})
                with localstack.airflow(tmp / "airflow", env, passwords) as af:
                    af.wait_dag("asr_pipeline", timeout=180)  # the real DAG, from the synced repo
                    full, push_s, direct = [], [], []
                    for i in range(a.trials):
                        dag_id = f"sync_probe_{i}_{int(time.time())}"
                        (work / "dags" / f"sync_probe_{i}.py").write_text(PROBE.format(dag_id=dag_id))
                        t0 = time.monotonic()
                        push_s.append(localstack.push_dags(work, url))
                        af.wait_dag(dag_id, timeout=120)
                        full.append(time.monotonic() - t0)
                        # Baseline: the same kind of file straight into the checked-out folder.
                        dag_id = f"direct_probe_{i}_{int(time.time())}"
                        t0 = time.monotonic()
                        (link / "dags" / f"direct_probe_{i}.py").write_text(PROBE.format(dag_id=dag_id))
                        af.wait_dag(dag_id, timeout=120)
                        direct.append(time.monotonic() - t0)
                        print(
                            f"trial {i}: save->parsed {full[-1]:.1f} s (push {push_s[-1]:.1f} s); "
                            f"Airflow side alone {direct[-1]:.1f} s",
                            flush=True,
                        )
    res = {
        "trials": a.trials,
        "git_sync_period_s": period,
        "target_s": 15.0,
        "full_s": {"median": statistics.median(full), "max": max(full), "all": full},
        "push_s": {"median": statistics.median(push_s)},
        "airflow_alone_s": {"median": statistics.median(direct), "max": max(direct), "all": direct},
        "ratio_full_to_airflow_alone": statistics.median(full) / statistics.median(direct),
    }
    out = ROOT / ".bench" / "dag_sync.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    print(
        f"save -> parsed: median {res['full_s']['median']:.1f} s, max {res['full_s']['max']:.1f} s "
        f"(target < 15 s); Airflow side alone: median {res['airflow_alone_s']['median']:.1f} s; "
        f"ratio {res['ratio_full_to_airflow_alone']:.2f}x"
    )
    return 0 if res["full_s"]["max"] < 15 else 1


if __name__ == "__main__":
    sys.exit(main())

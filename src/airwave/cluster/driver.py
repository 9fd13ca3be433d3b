"""Entry point of the driver (task) pod in the Spark image: `python3 -m airwave.cluster.driver <spark-submit argv>`.

Two things only the pod itself can do before exec'ing spark-submit (so signals and the exit code pass straight
through to KubernetesPodOperator):
- put the path of airwave's __main__ module *in this image* where the argv says `{airwave-app}`;
- write a per-task executor pod template, passed in an env var, to the file the Spark conf points at.
No Airflow import: the Spark image does not have Airflow.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from airwave.cluster.specs import APP_PLACEHOLDER, EXECUTOR_TEMPLATE_RUNTIME_PATH, app_file, spark_submit_path
from airwave.settings import environment

# Conf keys whose values are credentials (Kubernetes has expanded `$(AWS_SECRET_ACCESS_KEY)` in the argv by now);
# a secretKeyRef only names a Secret.
SECRET_CONF = re.compile(r"(?i)^(?!.*secretKeyRef).*(secret|password|access_key|session_token)")


def resolve(argv: list[str]) -> list[str]:
    """Pure: the argv to exec. argv[0] is the spark-submit to use ('spark-submit' = the one inside pyspark)."""
    if not argv:
        raise SystemExit("usage: python -m airwave.cluster.driver spark-submit [options] {airwave-app} [args]")
    exe = spark_submit_path() if argv[0] == "spark-submit" else argv[0]
    return [exe, *(app_file() if a == APP_PLACEHOLDER else a for a in argv[1:])]


def write_executor_template(text: str, path: str = EXECUTOR_TEMPLATE_RUNTIME_PATH) -> bool:
    if not text:
        return False
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)  # JSON is YAML, which is what Spark reads
    return True


def shown(argv: list[str]) -> list[str]:
    """The argv as it may be logged: credential values masked."""
    return [a.split("=", 1)[0] + "=***" if "=" in a and SECRET_CONF.search(a.split("=", 1)[0]) else a for a in argv]


def main() -> None:
    argv = resolve(sys.argv[1:])
    write_executor_template(environment().executor_pod_template)
    # The app must run on the interpreter that has airwave (this one), whatever python3 is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    print("exec:", " ".join(shown(argv)), flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()

"""Entry point of the driver (task) pod in the Spark image: `python3 -m airwave.airflow.driver <spark-submit argv>`.

Two things only the pod itself can do before exec'ing spark-submit (so signals and the exit code pass straight
through to KubernetesPodOperator):
- put the path of airwave's __main__ module *in this image* where the argv says `{airwave-app}`;
- write a per-task executor pod template, passed in an env var, to the file the Spark conf points at.
No Airflow import: the Spark image does not have Airflow.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from airwave.airflow.specs import (
    APP_PLACEHOLDER,
    EXECUTOR_TEMPLATE_ENV,
    EXECUTOR_TEMPLATE_RUNTIME_PATH,
    app_file,
    spark_submit_path,
)


def resolve(argv: list[str], env: dict[str, str]) -> list[str]:
    """Pure: the argv to exec. argv[0] is the spark-submit to use ('spark-submit' = the one inside pyspark)."""
    if not argv:
        raise SystemExit("usage: python -m airwave.airflow.driver spark-submit [options] {airwave-app} [args]")
    exe = spark_submit_path() if argv[0] == "spark-submit" else argv[0]
    return [exe, *(app_file() if a == APP_PLACEHOLDER else a for a in argv[1:])]


def write_executor_template(env: dict[str, str], path: str = EXECUTOR_TEMPLATE_RUNTIME_PATH) -> bool:
    text = env.get(EXECUTOR_TEMPLATE_ENV)
    if not text:
        return False
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)  # JSON is YAML, which is what Spark reads
    return True


def main() -> None:
    argv = resolve(sys.argv[1:], dict(os.environ))
    write_executor_template(dict(os.environ))
    # The app must run on the interpreter that has airwave (this one), whatever python3 is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    print("exec:", " ".join(argv), flush=True)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()

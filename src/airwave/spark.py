"""SparkSession for the stages: takes spark-submit's settings when launched by it, else starts local mode."""
from __future__ import annotations

import os
import sys

# Defaults that matter for Python-heavy audio work (see shared notes "asr-perf"):
LOCAL_DEFAULTS = {
    "spark.python.worker.reuse": "true",  # keep each worker's loaded model across tasks
    "spark.sql.execution.arrow.maxRecordsPerBatch": "16",  # rows carry audio: keep Arrow batches small
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


def under_spark_submit() -> bool:
    # spark-submit starts the Python driver with a gateway to its already-configured JVM.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def local_cores() -> int:
    return int(os.environ.get("AIRWAVE_SPARK_CORES") or os.cpu_count() or 1)


def session(app: str = "airwave", conf: dict[str, str] | None = None):
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName(app)
    if not under_spark_submit():
        # Workers must run the same interpreter (the venv with faster-whisper and airwave).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        b = b.master(os.environ.get("AIRWAVE_SPARK_MASTER", f"local[{local_cores()}]"))
        b = b.config("spark.driver.memory", os.environ.get("AIRWAVE_DRIVER_MEMORY", "2g"))
        for k, v in LOCAL_DEFAULTS.items():
            b = b.config(k, v)
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("AIRWAVE_SPARK_LOG_LEVEL", "WARN"))
    return spark


def task_slots(spark) -> int:
    """Concurrent Python workers = executor cores / task cpus (each one holds its own model)."""
    sc = spark.sparkContext
    return max(1, sc.defaultParallelism // int(sc.getConf().get("spark.task.cpus", "1")))


def task_cpus(spark) -> int:
    return int(spark.sparkContext.getConf().get("spark.task.cpus", "1"))

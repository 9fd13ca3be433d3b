"""PySpark's worker daemon, importing pyspark from its installed package rather than from Spark's zips.

Spark puts $SPARK_HOME/python/lib/pyspark.zip and py4j-*-src.zip first on its Python workers' path. Those zips hold
no bytecode, so the daemon and every worker it forks compile pyspark's modules from source, and each task's
importlib.invalidate_caches() re-reads both zips' directories (~1,500 entries). Where pyspark is also installed as a
package (pip: the zips are copies of it), this daemon drops the zips from the path first (`spark.python.daemon.module`,
set in spark.STAGE_CONF). Same interpreter, same pyspark version: the driver checks that anyway.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def is_spark_zip(path: str) -> bool:
    name = os.path.basename(path)
    return name == "pyspark.zip" or (name.startswith("py4j-") and name.endswith("-src.zip"))


def use_installed_pyspark() -> bool:
    """Drop Spark's zips from sys.path when pyspark and py4j are importable without them; True if dropped."""
    saved = list(sys.path)
    zips = [p for p in saved if is_spark_zip(p)]
    if not zips:
        return False
    sys.path[:] = [p for p in saved if p not in zips]
    for p in zips:
        sys.path_importer_cache.pop(p, None)
    if importlib.util.find_spec("pyspark") and importlib.util.find_spec("py4j"):
        return True
    sys.path[:] = saved  # a Spark distribution without pip's pyspark: the zips are all there is
    return False


if __name__ == "__main__":
    use_installed_pyspark()
    from pyspark.daemon import manager

    manager()

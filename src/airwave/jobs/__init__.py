"""The three Spark stages: preprocess, transcribe, postprocess. Where each reads and writes, and how it marks its
output done, is layout.py; the schemas of those tables are schemas.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyspark.accumulators import AccumulatorParam


class ByKey(AccumulatorParam):
    """{key: value} from tasks to the driver. A task that runs again (a retry, a lost result recomputed) sends the
    same keys again, so values merge per key and are never summed: `keep(old, new)` picks one (None: the newer)."""

    def __init__(self, keep: Callable[[Any, Any], Any] | None = None) -> None:
        self.keep = keep

    def zero(self, value):
        return {}

    def addInPlace(self, a, b):
        for k, v in b.items():
            a[k] = self.keep(a[k], v) if self.keep and k in a else v
        return a


def keyed_accumulator(spark, keep: Callable[[Any, Any], Any] | None = None):
    return spark.sparkContext.accumulator({}, ByKey(keep))

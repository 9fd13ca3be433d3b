"""The three Spark stages: preprocess, transcribe, postprocess. Where each reads and writes, and how it marks its
output done, is layout.py; the schemas of those tables are schemas.py."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, TypeVar

from pyspark.accumulators import AccumulatorParam

T = TypeVar("T")


def deal(items: list[T], weight: Callable[[T], float], n: int) -> list[list[T]]:
    """Longest-processing-time-first: `items` into `n` groups of even total weight, heaviest items first, ties in the
    order given (so the same input always gives the same groups)."""
    groups: list[list[T]] = [[] for _ in range(n)]
    lightest = [(0.0, g) for g in range(n)]  # a heap of (load, group): the lightest group, lowest index on ties
    for item in sorted(items, key=lambda x: -weight(x)):  # a stable sort
        load, g = heapq.heappop(lightest)
        groups[g].append(item)
        heapq.heappush(lightest, (load + weight(item), g))
    return groups


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

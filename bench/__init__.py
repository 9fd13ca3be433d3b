"""Benchmarks, run from the checkout as modules (`.venv/bin/python -m bench.throughput`, as the Makefile's bench
targets do), so that they import the test fixtures and corpus generators as `tests.support`."""

import os


def worker_malloc_env() -> dict[str, str]:
    """This process's environment with the malloc settings Spark gives its Python workers (airwave.spark), for a
    process that should allocate as a worker does (glibc reads them at process start only)."""
    from airwave.spark import WORKER_MALLOC

    return {**os.environ, "GLIBC_TUNABLES": WORKER_MALLOC}

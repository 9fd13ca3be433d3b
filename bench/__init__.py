"""Benchmarks, run from the checkout as modules (`.venv/bin/python -m bench.throughput`, as the Makefile's bench
targets do), so that they import the test fixtures and corpus generators as `tests.support`."""

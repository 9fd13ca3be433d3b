"""Airflow side of airwave: the per-task Spark cluster operator and the pure builders behind it.

Only `operator.py` imports Airflow; `specs.py`, `runs.py` and `driver.py` must stay importable without it (golden
tests, and `driver.py` runs inside the Spark image, which has no Airflow).
"""

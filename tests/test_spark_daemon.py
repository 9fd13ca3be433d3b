"""airwave.spark_daemon: Spark's zips leave the workers' path only where pyspark is installed without them."""

import importlib.util
import sys

from airwave import spark_daemon

ZIPS = ["/opt/spark/python/lib/pyspark.zip", "/opt/spark/python/lib/py4j-0.10.9.9-src.zip"]


def test_the_zips_are_dropped_when_pyspark_is_installed(monkeypatch):
    monkeypatch.setattr(sys, "path", [*ZIPS, *sys.path])
    rest = sys.path[len(ZIPS) :]
    assert spark_daemon.use_installed_pyspark()
    assert sys.path == rest


def test_the_zips_stay_when_they_are_all_there_is(monkeypatch):
    path = [ZIPS[0], "/somewhere", ZIPS[1]]
    monkeypatch.setattr(sys, "path", list(path))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert not spark_daemon.use_installed_pyspark()
    assert sys.path == path


def test_nothing_to_do_without_zips(monkeypatch):
    monkeypatch.setattr(sys, "path", ["/somewhere", *sys.path])
    before = list(sys.path)
    assert not spark_daemon.use_installed_pyspark()
    assert sys.path == before

"""The Spark session the stages start in local mode: what its Python workers and JVM run with."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airwave import spark as sp
from testlib import ROOT

pytestmark = pytest.mark.slow


def test_python_workers_reuse_freed_memory_import_installed_pyspark_and_the_jvm_runs_tuned():
    def reuse_faults(_):
        """Page faults of a 64 MB allocation made again after freeing the first (the size of a Whisper encoder
        layer's attention scores). Defined here so that it travels to the worker by value."""
        import os
        import resource
        import sys

        import pyspark

        from airwave.spark_daemon import is_spark_zip

        b = bytearray(64 << 20)
        del b
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        b = bytearray(64 << 20)
        del b
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        zips = [p for p in sys.path if is_spark_zip(p)]
        return [(os.environ.get("GLIBC_TUNABLES"), faults, pyspark.__file__, zips)]

    session = sp.session("test-spark")
    try:
        (tunables, faults, pyspark_file, zips), *_ = (
            session.sparkContext.parallelize([0], 1).mapPartitions(reuse_faults).collect()
        )
        runtime = session.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
        jvm_args = set(runtime.getInputArguments())
    finally:
        session.stop()
    assert tunables == sp.WORKER_MALLOC
    # glibc's default maps a fresh 64 MB (16,384 pages to fault in and zero) for every such allocation.
    assert faults < 1000, f"{faults} page faults to allocate 64 MB again: freed memory is not reused"
    assert {"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"} <= jvm_args
    # airwave.spark_daemon: workers import the installed pyspark (compiled once), not Spark's zips of its source.
    assert ".zip" not in pyspark_file and not zips, (pyspark_file, zips)


def test_tables_the_driver_writes_have_sparks_types_and_spark_reads_them(tmp_path):
    """storage.write_table (the calls, rejects and summary tables) writes the Arrow types Spark itself would."""
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    from airwave import schemas, storage

    session = sp.session("test-tables")
    try:
        for ddl in (schemas.CALLS, schemas.REJECTS, schemas.SUMMARY):
            assert schemas.arrow_schema(ddl) == to_arrow_schema(StructType.fromDDL(ddl)), ddl
        rows = [{"source": "file:///in/x.wav", "call_id": "x.wav", "reason": "too_large", "detail": "2 GiB"}]
        storage.write_table(str(tmp_path / "rejects"), rows, schemas.REJECTS)
        read = [r.asDict() for r in session.read.schema(schemas.REJECTS).parquet(str(tmp_path / "rejects")).collect()]
    finally:
        session.stop()
    assert read == rows


def test_pandas_udfs_and_rdd_tasks_share_the_python_workers():
    """Transcribe's RDD tasks run in the workers preprocess's pandas UDF (mapInPandas) started."""

    def pids(batches):
        import os

        import pandas as pd

        for _ in batches:
            yield pd.DataFrame({"pid": [os.getpid()]})

    session = sp.session("test-pool")
    try:
        sql = {r.pid for r in session.range(2, numPartitions=2).mapInPandas(pids, "pid long").collect()}
        rdd = set(session.sparkContext.parallelize([0, 1], 2).map(lambda _: os.getpid()).collect())
    finally:
        sp.stop(session)
    assert rdd <= sql, (sql, rdd)


def test_stop_stops_the_context_and_the_accumulator_server_shuts_down_behind_it():
    session = sp.session("test-stop")
    sc = session.sparkContext
    acc = sc.accumulator(0)
    sc.parallelize(range(10), 2).foreach(lambda x: acc.add(x))
    assert acc.value == 45  # updates reached the server before the job ended
    server = sc._accumulatorServer
    sp.stop(session)
    assert sc._jsc is None and server.server_shutdown
    deadline = time.monotonic() + 30
    while server.socket.fileno() != -1 and time.monotonic() < deadline:  # shut down and closed, in the background
        time.sleep(0.1)
    assert server.socket.fileno() == -1
    again = sp.session("test-stop-again")  # a stopped context leaves nothing that blocks the next one
    try:
        assert again.range(3).count() == 3
    finally:
        sp.stop(again)


def test_a_driver_that_exits_without_stopping_its_session_takes_its_jvm_down_cleanly():
    """At exit the process shuts py4j's gateway down before its JVM sees stdin close (spark._close_gateway: the JVM
    exits ~0.3 s sooner, docs/performance-log.md); an unstopped context must still end, with no error at exit."""
    job = (
        "import io, logging; from airwave import spark as sp; from pyspark import SparkContext;"
        "s = sp.session('exit'); print(s.range(3).count(), SparkContext._gateway.proc.pid);"
        # A log handler whose stream is closed before exit, as pytest's capture leaves one: py4j's INFO records of
        # the shutdown printed a "Logging error" traceback each at the end of `make test`.
        "stream = io.StringIO(); logging.basicConfig(stream=stream, level=logging.INFO, force=True); stream.close()"
    )
    r = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, timeout=600)  # waits for the JVM:
    assert r.returncode == 0, r.stderr[-2000:]  # it holds the same stdout and stderr
    count, jvm = r.stdout.split()[-2:]
    assert count == "3" and "Error in atexit" not in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{jvm}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{jvm}")


def test_the_first_run_writes_a_class_archive_and_the_next_driver_loads_spark_from_it(tmp_path):
    """The first process writes the archive as its JVM exits and publishes it whole; the next driver JVM maps
    Spark's classes from it instead of parsing them (docs/performance-log.md)."""
    folder = tmp_path / "jvm"
    job = "from airwave import spark as sp; s = sp.session('archive'); s.range(3).count(); s.stop()"
    env = {**os.environ, "AIRWAVE_JVM_ARCHIVE_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", job], env=env, check=True, capture_output=True, timeout=600)
    (archive,) = folder.iterdir()  # no temporary file left beside it
    assert archive.suffix == ".jsa" and archive.stat().st_size > 10 << 20

    env["JAVA_TOOL_OPTIONS"] = f"-Xlog:class+load=info:file={tmp_path}/classes-%p.log"
    subprocess.run([sys.executable, "-c", job], env=env, check=True, capture_output=True, timeout=600)
    loads = "".join(p.read_text() for p in tmp_path.glob("classes-*.log"))
    assert "org.apache.spark.SparkContext source: shared objects file (top)" in loads
    assert list(folder.iterdir()) == [archive]


def test_each_installation_of_spark_writes_and_maps_its_own_class_archive(tmp_path):
    """The JVM ignores an archive written with other jars on the class path: another checkout's venv, or a
    reinstalled pyspark, must write its own rather than start every driver without one (dev set ~5 s a run: the
    archive that CI's clone left behind made every run here print "Unable to use shared archive")."""
    import pyspark

    folder = tmp_path / "jvm"
    job = "from airwave import spark as sp; s = sp.session('archive'); s.range(3).count(); s.stop()"
    env = {k: v for k, v in os.environ.items() if k != "SPARK_HOME"} | {"AIRWAVE_JVM_ARCHIVE_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", job], env=env, check=True, capture_output=True, timeout=600)
    (first,) = folder.iterdir()

    # Another installation of the same Spark, as the JVM sees it: links to the same jars, but one jar is a copy (same
    # name, size and mtime; another file), as another venv's would be.
    home = tmp_path / "spark"
    (home / "jars").mkdir(parents=True)
    for entry in Path(pyspark.__file__).parent.iterdir():
        if entry.name != "jars":
            (home / entry.name).symlink_to(entry)
    jars = sorted((Path(pyspark.__file__).parent / "jars").iterdir())
    for jar in jars:
        (home / "jars" / jar.name).symlink_to(jar)
    copied = min((j for j in jars if j.suffix == ".jar"), key=lambda j: j.stat().st_size)
    (home / "jars" / copied.name).unlink()
    shutil.copy2(copied, home / "jars" / copied.name)
    env |= {"SPARK_HOME": str(home)}
    writes = subprocess.run([sys.executable, "-c", job], env=env, capture_output=True, text=True, timeout=600)
    out = writes.stdout + writes.stderr  # the JVM logs to stdout
    assert writes.returncode == 0 and "Unable to use shared archive" not in out, out[-2000:]
    assert first.exists() and len(list(folder.iterdir())) == 2

    env["JAVA_TOOL_OPTIONS"] = f"-Xlog:class+load=info:file={tmp_path}/classes-%p.log"
    maps = subprocess.run([sys.executable, "-c", job], env=env, capture_output=True, text=True, timeout=600)
    out = maps.stdout + maps.stderr
    assert maps.returncode == 0 and "Unable to use shared archive" not in out, out[-2000:]
    loads = "".join(p.read_text() for p in tmp_path.glob("classes-*.log"))
    assert "org.apache.spark.SparkContext source: shared objects file (top)" in loads


def test_only_the_newest_class_archives_are_kept(tmp_path):
    for age, name in enumerate(["e", "d", "c", "b", "a"]):  # "a" oldest
        f = tmp_path / f"spark-4.3.0-{name}.jsa"
        f.write_bytes(b"x")
        os.utime(f, (1e9 - age * 60, 1e9 - age * 60))
    (tmp_path / "other.txt").write_text("not an archive")
    sp._prune_archives(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "other.txt",
        "spark-4.3.0-c.jsa",
        "spark-4.3.0-d.jsa",
        "spark-4.3.0-e.jsa",
    ]


def test_set_up_writes_the_class_archive_once_with_a_real_run(tmp_path):
    """`make env` runs hack/warm-spark.sh so that no user's first run pays for the archive (~25 s: a cold bench
    read 0.93x, README Performance): it writes the archive with an `airwave run` on sample_data, then is a no-op."""
    folder = tmp_path / "jvm"
    env = {**os.environ, "AIRWAVE_JVM_ARCHIVE_DIR": str(folder)}
    script = [str(ROOT / "hack" / "warm-spark.sh"), sys.executable]
    first = subprocess.run(script, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "class-data archive" in first.stdout
    (archive,) = folder.iterdir()
    assert archive.suffix == ".jsa" and archive.stat().st_size > 10 << 20
    again = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    assert list(folder.iterdir()) == [archive]


def test_no_class_archive_when_switched_off_or_its_path_would_split_the_jvm_options(tmp_path):
    assert sp.class_archive("off") == ("", None)
    assert sp.class_archive(str(tmp_path / "a b")) == ("", None)
    option, archive = sp.class_archive(str(tmp_path / "jvm"))
    assert option.startswith(f"-XX:ArchiveClassesAtExit={archive}.") and archive.parent.is_dir()

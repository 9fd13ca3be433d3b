"""SparkSession for the stages: takes spark-submit's settings when launched by it, else starts local mode."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from .settings import environment

# glibc malloc for the Python workers: one heap, no mmap'd chunks, never trimmed. Whisper's encoder allocates each
# layer's attention scores afresh (tiny.en: 6 heads x 1500^2 floats = 54 MB, over glibc's 32 MB mmap ceiling), so
# by default every layer of every window maps and zero-fills new pages: 6.8 M page faults and ~30% of the transcribe
# stage's CPU on the dev set (docs/performance-log.md). Kept, the pages are reused; a worker keeps its peak heap, so its
# RSS is higher (call_004's transcribe: 480 -> 832 MB, README Memory).
WORKER_MALLOC = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295"

# Every stage's Spark settings, wherever it runs (local mode, the local backend's spark-submit, the kind cluster),
# for Python-heavy audio work:
STAGE_CONF = {
    "spark.python.worker.reuse": "true",  # keep each worker's loaded model across tasks
    "spark.python.daemon.module": "airwave.spark_daemon",  # pyspark from its package, not Spark's zips
    "spark.executorEnv.GLIBC_TUNABLES": WORKER_MALLOC,  # executors' processes, incl. the Python workers
    # Spark pools Python workers by their environment, and SQL's pandas UDFs add this variable while RDD tasks do not:
    # preprocess (mapInPandas) and transcribe (an RDD) each started a daemon and a worker a slot. Set for both, they
    # share one pool, and in `airwave run` (all stages in one application) transcribe's tasks reuse preprocess's
    # warm workers (imports done). Dev set, `airwave run`, 4 alternating runs: 25.5 -> 24.6 s; a worker's peak RSS
    # 696 -> 800 MB (preprocess's heap is kept, WORKER_MALLOC).
    "spark.executorEnv.SPARK_SIMPLIFIED_TRACEBACK": "1",
    # A stage's JVM lives seconds to minutes and mostly moves bytes: C2's compile threads and a parallel GC cost more
    # CPU than they return (dev set, local mode: JVM CPU 30 -> 17 s, wall -14%).
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "16",  # rows carry audio: keep Arrow batches small
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}


def s3a_conf(endpoint: str, region: str = "us-east-1", env_credentials: bool = True) -> dict[str, str]:
    """s3a -> an S3-compatible endpoint (MinIO), or AWS S3 itself when `endpoint` is empty. `env_credentials`: keys
    from the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY env vars; else Hadoop's default chain (e.g. an IAM role)."""
    conf = {"spark.hadoop.fs.s3a.endpoint.region": region}  # v4 signing needs a region; MinIO ignores it
    if endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
        conf["spark.hadoop.fs.s3a.path.style.access"] = "true"  # no per-bucket DNS names for MinIO
    if env_credentials:
        conf["spark.hadoop.fs.s3a.aws.credentials.provider"] = (
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
        )
    return conf


def jar_list(spec: str) -> list[str]:
    """AIRWAVE_SPARK_JARS: comma-separated jar files and/or folders (every *.jar in them)."""
    jars: list[str] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if os.path.isdir(part):
            jars += sorted(os.path.join(part, f) for f in os.listdir(part) if f.endswith(".jar"))
        elif os.path.isfile(part):
            jars.append(part)
        else:
            raise FileNotFoundError(f"AIRWAVE_SPARK_JARS: no such jar or folder: {part}")
    return [os.path.abspath(j) for j in jars]


def local_object_store_conf(endpoint: str, region: str, jars: str) -> dict[str, str]:
    """Local mode reaching MinIO/S3: s3a to `endpoint` (AWS_ENDPOINT_URL), with pyspark's missing hadoop-aws + AWS
    SDK jars from `jars` (AIRWAVE_SPARK_JARS; `hack/tools.sh jars` fetches them). Empty when neither is set."""
    conf: dict[str, str] = {}
    if endpoint:
        conf.update(s3a_conf(endpoint, region))
    if jar_files := jar_list(jars):
        conf["spark.jars"] = ",".join(jar_files)
    return conf


def under_spark_submit() -> bool:
    # spark-submit starts the Python driver with a gateway to its already-configured JVM.
    return "PYSPARK_GATEWAY_PORT" in os.environ


# local[N,F]: without F, local mode gives each task one attempt, so one crashed Python worker (OOM-killed, a
# segfault in a decoder) fails the whole stage; F = 4 attempts, as spark.task.maxFailures gives a cluster.
LOCAL_TASK_ATTEMPTS = 4


def local_master(cores: int) -> str:
    return f"local[{cores},{LOCAL_TASK_ATTEMPTS}]"


def local_cores() -> int:
    return environment().spark_cores or os.cpu_count() or 1


# A driver JVM parses and verifies ~10k classes (Spark, Hadoop, Parquet) afresh every time it starts: a class-data
# archive (JDK 13+ dynamic CDS) maps them instead. Measured on the 2-core machine: session start 6.5 -> 2.7 s, first
# job 3.0 -> 1.2 s, `airwave run` on the dev set -4.4 s, a stage under a local spark-submit ~16 -> ~11 s. The first
# driver without one writes it as its JVM exits (once per JDK and pyspark installation: ~15 s more at exit). Local
# sessions (session() below) and local spark-submits (the operator's local backend, `airwave sweep`) share it: both
# start their JVM through pyspark's spark-submit, so the class path is the same.
def _java() -> str | None:
    """The java that spark-submit runs (bin/spark-class: $JAVA_HOME/bin/java, else java on PATH)."""
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    return os.path.realpath(java) if java and os.path.isfile(java) else None


def class_archive(folder: str | None = None) -> tuple[str, Path | None]:
    """(the driver's JVM option, the file it writes at exit or None): use the archive for this JDK and pyspark, or
    write it. A JDK update or another pyspark installation changes the name (a stale archive would only be ignored,
    but never replaced; _archive_key).
    `folder`: default AIRWAVE_JVM_ARCHIVE_DIR, else the user's cache (settings.Environment.jvm_archive_folder)."""
    import pyspark

    folder = environment().jvm_archive_folder if folder is None else folder
    java = _java()
    if folder == "off" or not java:
        return "", None
    # spark-submit's class path: $SPARK_HOME/jars/*, SPARK_HOME being pyspark's folder unless it is set.
    jars = Path(os.environ.get("SPARK_HOME") or os.path.dirname(pyspark.__file__)) / "jars"
    final = Path(folder) / f"spark-{pyspark.__version__}-{_archive_key(java, jars)}.jsa"
    if any(c.isspace() for c in str(final)):  # extraJavaOptions is split at whitespace
        return "", None
    if final.is_file():
        return f"-XX:SharedArchiveFile={final}", None
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        for old in final.parent.glob(f"{final.name}.*.tmp"):  # left by a killed run (~200 MB each)
            if not _alive(int(old.suffixes[-2][1:])):
                old.unlink(missing_ok=True)
    except (OSError, ValueError):
        return "", None  # no writable cache: start without an archive
    # -Xlog: not a warning per class it cannot archive (signed jars, old class files).
    return f"-XX:ArchiveClassesAtExit={_unpublished(final)} -Xlog:cds*=error", final


def _archive_key(java: str, jars: Path) -> str:
    """What an archive is valid for: the JDK (its launcher and libjvm) and the driver's class path (`jars`), jar by
    jar. The JVM checks that each jar is the same file (or a link to it) with the same size and mtime, and otherwise
    ignores the archive ("The top archive failed to load"): one written by another checkout's venv, or before pyspark
    was reinstalled, was never loaded and never replaced, and every driver started without it (dev set ~5 s a run)."""
    files = [Path(java), Path(java).parent.parent / "lib" / "server" / "libjvm.so"]
    files += sorted(jars.glob("*.jar"))
    h = hashlib.sha256()
    for f in files:
        with contextlib.suppress(OSError):
            st = f.stat()
            h.update(f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}\n".encode())  # the JVM's own test
    return h.hexdigest()[:12]


def _unpublished(final: Path) -> Path:
    """Where this process's JVM writes the archive before it is checked and renamed to `final`."""
    return Path(f"{final}.{os.getpid()}.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def publish_archive(final: Path, exited_ok: bool = True) -> None:
    """Once the JVM that wrote it has exited: publish the archive if whole. A truncated archive would crash every
    later JVM (SIGBUS while mapping it), so a copy that `java -version` cannot map is deleted instead."""
    tmp = _unpublished(final)
    java = _java()
    check = [java, f"-XX:SharedArchiveFile={tmp}", "-version"] if java else None
    if exited_ok and tmp.is_file() and check and subprocess.run(check, capture_output=True).returncode == 0:
        os.replace(tmp, final)
        _prune_archives(final.parent)
    else:
        tmp.unlink(missing_ok=True)


def _prune_archives(folder: Path, keep: int = 3) -> None:
    """Keep the newest few archives (~190 MB each): each checkout or reinstall of pyspark writes its own."""
    with contextlib.suppress(OSError):  # best effort: another process may be pruning too
        archives = sorted(folder.glob("spark-*.jsa"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in archives[keep:]:
            old.unlink(missing_ok=True)  # a JVM that maps it keeps its pages


def _publish_session_archive(proc, final: Path) -> None:
    """At exit of a local session: let its JVM write the archive, then publish it."""
    print("airwave: writing the Spark driver's class-data archive (once) ...", file=sys.stderr, flush=True)
    proc.stdin.close()  # pyspark's gateway JVM exits when its stdin closes
    try:
        rc = proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        rc = None
    publish_archive(final, rc == 0)


def _close_gateway() -> None:
    """At exit of a process that started its driver JVM: close py4j's connections before the JVM reads the end of its
    stdin and exits. HotSpot's exit waits up to 300 ms for threads blocked in native code, such as py4j's threads
    reading their sockets: the JVM took ~0.4 s to exit after its stdin closed, ~0.07 s with its gateway shut down
    first. Whoever reads the process's output (the bench, Airflow) waits for the JVM, which holds it too."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is not None:
        # py4j logs each closed connection at INFO; at exit a handler's stream may be closed already (pytest's
        # capture), and every record would print a "Logging error" traceback.
        logging.getLogger("py4j").setLevel(logging.WARNING)
        try:
            gateway.shutdown()
        except Exception:  # noqa: BLE001 - exiting anyway: the JVM still exits when its stdin closes
            pass


def add_driver_java_option(conf: dict[str, str], option: str) -> dict[str, str]:
    if option:
        conf["spark.driver.extraJavaOptions"] = f"{conf.get('spark.driver.extraJavaOptions', '')} {option}".strip()
    return conf


def session(app: str = "airwave", conf: dict[str, str] | None = None):
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    env = environment()
    b = SparkSession.builder.appName(app)
    archive, starts_jvm = None, False
    if not under_spark_submit():
        # Workers must run the same interpreter (the venv with faster-whisper and airwave).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        b = b.master(env.spark_master or local_master(local_cores()))
        b = b.config("spark.driver.memory", env.driver_memory)
        store = local_object_store_conf(env.s3_endpoint, env.aws_region, env.spark_jars)
        local = {**STAGE_CONF, **store}
        starts_jvm = SparkContext._gateway is None
        if starts_jvm:
            option, archive = class_archive(env.jvm_archive_folder)
            add_driver_java_option(local, option)
        for k, v in local.items():
            b = b.config(k, v)
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    if archive is not None and SparkContext._gateway is not None:
        atexit.register(_publish_session_archive, SparkContext._gateway.proc, archive)
    if starts_jvm:
        atexit.register(_close_gateway)  # after the archive's handler, so it runs before it (atexit is LIFO)
    spark.sparkContext.setLogLevel(env.spark_log_level)
    return spark


def stop(spark) -> None:
    """SparkSession.stop without its idle second. pyspark (4.3) stops the JVM's context, then shuts down its
    accumulator server and waits for it; that server's handler polls the JVM's connection once a second for the
    shutdown flag, so every stage's process waited ~1 s at the end (dev set: 1 s of `airwave run`'s ~24). The server
    is this process's own thread and has nothing left to receive (the JVM waits for each update's ack before a job
    ends), so it shuts down in the background while the context stops. tests/test_spark.py checks it still does."""
    sc = spark.sparkContext
    server = getattr(sc, "_accumulatorServer", None)
    if server is not None:
        sc._accumulatorServer = None  # SparkContext.stop would wait for it
        threading.Thread(target=server.shutdown, name="accumulator-server-shutdown", daemon=True).start()
    spark.stop()


def task_slots(spark) -> int:
    """Concurrent Python workers = executor cores / task cpus (each one holds its own model)."""
    sc = spark.sparkContext
    return max(1, sc.defaultParallelism // int(sc.getConf().get("spark.task.cpus", "1")))


def task_cpus(spark) -> int:
    return int(spark.sparkContext.getConf().get("spark.task.cpus", "1"))

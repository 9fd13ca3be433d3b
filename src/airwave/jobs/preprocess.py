"""Preprocess (Spark): every object under INPUT -> decode -> channels -> 16 kHz -> VAD -> speech chunks <= 30 s.

Writes under RUN/preprocess/: `chunks/` (the manifest + PCM of each chunk), `calls/` (one row per input object:
its format, duration, sha256, status) and `rejects/` (inputs that could not be decoded, with the reason).
"""
from __future__ import annotations

import fnmatch
import posixpath
from urllib.parse import urlparse

from .. import storage
from ..audio import DEFAULT_ROLES, DecodeError, decode, parse_roles, role_of, to_pcm16
from ..vad import chunk_channel

# Sidecar files that live beside audio (reference manifests, notes) are not inputs.
DEFAULT_EXCLUDE = "*.json,*.md,*.txt,.*,_*"

ROW_SCHEMA = (
    "kind string, call_id string, source string, channel int, role string, chunk_idx int, start_s double, "
    "end_s double, speech_s double, regions array<array<double>>, pcm binary, source_format string, "
    "source_rate int, source_channels int, duration_s double, sha256 string, status string, reason string, "
    "detail string, n_chunks int"
)
CHUNK_COLS = ["call_id", "channel", "role", "chunk_idx", "start_s", "end_s", "speech_s", "regions", "pcm",
              "source_format", "duration_s", "sha256"]
CALL_COLS = ["call_id", "source", "status", "reason", "detail", "source_format", "source_rate", "source_channels",
             "duration_s", "sha256", "n_chunks", "speech_s"]


def relative_id(path: str, root: str) -> str:
    """Call id = the object's path relative to the input root ('sub/a.wav'): unique, readable, stable."""
    p, r = urlparse(path).path, urlparse(storage.normalize(root)).path.rstrip("/")
    rel = posixpath.relpath(p, r) if p != r else posixpath.basename(p)
    return rel


def process_file(path: str, content: bytes, root: str, roles: dict[int, str]) -> list[dict]:
    """One input object -> a call row plus its chunk rows (or a call row saying why it was rejected)."""
    call = {"kind": "call", "call_id": relative_id(path, root), "source": path}
    try:
        d = decode(bytes(content))
    except DecodeError as e:
        return [{**call, "status": "rejected", "reason": e.reason, "detail": str(e), "n_chunks": 0}]
    except Exception as e:  # a decoder crash on odd input must not stop the run either
        return [{**call, "status": "rejected", "reason": "decoder_error", "detail": f"{type(e).__name__}: {e}",
                 "n_chunks": 0}]
    meta = {"source_format": d.source_format, "duration_s": d.duration_s, "sha256": d.sha256}
    rows, speech = [], 0.0
    for ch, audio in enumerate(d.channels):
        for i, c in enumerate(chunk_channel(audio)):
            rows.append({"kind": "chunk", "call_id": call["call_id"], "channel": ch,
                         "role": role_of(ch, len(d.channels), roles), "chunk_idx": i, "start_s": c.start_s,
                         "end_s": c.end_s, "speech_s": c.speech_s, "regions": [list(r) for r in c.regions],
                         "pcm": to_pcm16(c.audio), **meta})
            speech += c.speech_s
    rows.append({**call, **meta, "status": "ok", "source_rate": d.source_rate, "source_channels": len(d.channels),
                 "n_chunks": len(rows), "speech_s": speech})
    return rows


def _empty_files(spark, root: str) -> list[str]:
    """Zero-byte objects under root, listed through Hadoop's FileSystem (same view as Spark: file:, s3a:)."""
    jvm, conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(root)
    it = path.getFileSystem(conf).listFiles(path, True)
    out = []
    while it.hasNext():
        st = it.next()
        if st.getLen() == 0:
            out.append(st.getPath().toString())
    return out


def run(spark, input_uri: str, out_uri: str, roles: str = DEFAULT_ROLES, exclude: str = DEFAULT_EXCLUDE) -> dict:
    import pandas as pd
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from ..spark import task_slots

    root = storage.normalize(input_uri)
    role_map = parse_roles(roles)
    patterns = [p.strip() for p in exclude.split(",") if p.strip()]
    files = (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(root)
             .select("path", "content"))
    # Spark's file sources skip zero-byte files; add them back so they are rejected with a reason, not lost.
    empty = spark.createDataFrame([(p, bytearray()) for p in _empty_files(spark, root)], "path string, content binary")
    keep = F.udf(lambda p: not any(fnmatch.fnmatch(posixpath.basename(p), pat) for pat in patterns), "boolean")
    files = files.unionByName(empty).filter(keep("path"))
    n_files = files.count()
    if n_files == 0:
        raise SystemExit(f"no input files under {input_uri}")
    cols = [c.split()[0] for c in ROW_SCHEMA.split(", ")]

    def decode_partition(batches):
        for pdf in batches:
            rows = [r for p, c in zip(pdf["path"], pdf["content"]) for r in process_file(p, c, root, role_map)]
            yield pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)

    # Spread files over all task slots (binaryFile packs small files into few partitions).
    parts = min(n_files, task_slots(spark) * 2)
    rows = files.repartition(parts, "path").mapInPandas(decode_partition, ROW_SCHEMA)
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)  # three outputs, one decode
    base = storage.join(storage.normalize(out_uri), "preprocess")
    chunks = rows.filter("kind = 'chunk'").select(*CHUNK_COLS)
    calls = rows.filter("kind = 'call'").select(*CALL_COLS)
    # Each write replaces its own prefix: a rerun or a retry never duplicates.
    chunks.write.mode("overwrite").parquet(storage.join(base, "chunks"))
    calls.write.mode("overwrite").parquet(storage.join(base, "calls"))
    calls.filter("status = 'rejected'").select(F.col("source"), "call_id", "reason", "detail") \
        .write.mode("overwrite").parquet(storage.join(base, "rejects"))
    stats = calls.groupBy().agg(
        F.count("*").alias("files"), F.sum(F.when(F.col("status") == "ok", 1).otherwise(0)).alias("ok"),
        F.sum(F.when(F.col("status") == "rejected", 1).otherwise(0)).alias("rejected"),
        F.sum("duration_s").alias("audio_s"), F.sum(F.col("duration_s") * F.col("source_channels")).alias("channel_audio_s"),
        F.sum("speech_s").alias("speech_s"),
        F.sum("n_chunks").alias("chunks"),
    ).first().asDict()
    rows.unpersist()
    storage.write_text(storage.join(base, "_SUCCESS"), "")
    return {k: (v or 0) for k, v in stats.items()}

"""Transcribe (Spark): RUN/preprocess/chunks (schemas.CHUNKS) -> faster-whisper -> RUN/transcribe/segments
(schemas.SEGMENTS).

One model per Python worker (module-level cache in asr.py; workers are reused), chunks from any calls batched
together, `cpu_threads` = spark.task.cpus so that workers x threads = cores. RUN/transcribe/stats.json: the stage's
wall time and the peak memory of its Python processes (what `airwave sweep` compares cluster shapes by).
"""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from dataclasses import replace

from .. import layout, schemas, storage
from ..asr import AsrConfig, resolve_model
from . import deal, keyed_accumulator

# Fewer, larger tasks decode faster: each pass's batches are fuller and of more even lengths (dev set, 2 slots: 80
# chunks in 2 tasks rather than 4, transcribe stage 17.0/16.5 s vs 18.2/19.6 s, docs/performance-log.md).
TASK_BATCHES = 8


def assign_partitions(keys: list[tuple], n_parts: int) -> dict[tuple, int]:
    """Longest-processing-time-first: balance speech seconds across partitions, deterministically.

    `keys` are (call_id, channel, chunk_idx, speech_s). The same input always gives the same partitions, so batches
    (and thus results) are reproducible from run to run.
    """
    groups = deal(sorted(keys), lambda k: k[3], n_parts)
    return {k[:3]: p for p, group in enumerate(groups) for k in group}


def transcribe_rows(rows, cfg: AsrConfig, model_id: str):
    """Transcribe one partition of chunk rows; yields SEGMENTS rows (tuples) in call time."""
    from ..asr import transcribe_chunks
    from ..audio import from_pcm16
    from ..vad import split_at_regions

    rows = sorted(rows, key=lambda r: (r["call_id"], r["channel"], r["chunk_idx"]))
    results = transcribe_chunks([from_pcm16(bytes(r["pcm"])) for r in rows], cfg)
    for r, segs in zip(rows, results, strict=False):
        regions = [tuple(x) for x in r["regions"]]
        cues = [c for s in segs if s.text for c in split_at_regions(s, regions)]  # one speech region each
        for j, c in enumerate(cues):
            yield (
                r["call_id"],
                r["channel"],
                r["role"],
                r["chunk_idx"],
                j,
                c.start,
                c.end,
                c.text,
                c.avg_logprob,
                c.no_speech_prob,
                model_id,
            )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run(spark, out_uri: str, cfg: AsrConfig, chunks_from: str | None = None) -> dict:
    """`chunks_from`: read another run's published chunks (a shape sweep preprocesses its sample once)."""
    from ..spark import task_cpus, task_slots

    t0 = time.time()
    base = storage.normalize(out_uri)
    src = storage.normalize(chunks_from) if chunks_from else base
    layout.require(src, "preprocess")
    layout.unpublish(base, "transcribe")
    cfg = replace(cfg, cpu_threads=cfg.cpu_threads or task_cpus(spark))
    _, model_id = resolve_model(cfg.model)  # fail fast on the driver if the model is missing
    chunks = spark.read.schema(schemas.CHUNKS).parquet(layout.chunks(src))  # a given schema: no job to infer it
    # The driver reads the keys itself (only those columns' pages): no Spark job.
    key_cols = ["call_id", "channel", "chunk_idx", "speech_s"]
    keys = [tuple(r[c] for c in key_cols) for r in storage.read_table(layout.chunks(src), key_cols)]
    slots = task_slots(spark)
    # One task per slot, unless that task would hold more than TASK_BATCHES batches (a task keeps its chunks' audio
    # in memory: ~2 MB per 20 s chunk); then each slot's share is split evenly.
    n_parts = max(1, min(len(keys), slots * max(1, -(-len(keys) // (slots * cfg.batch_size * TASK_BATCHES)))))
    assignment = assign_partitions(keys, n_parts)
    # Retried tasks never count twice: {worker: peak RSS MB} keeps the max, {partition: segments} the last count.
    peaks, counts = keyed_accumulator(spark, max), keyed_accumulator(spark)
    rdd = (
        chunks.rdd.map(lambda r: (assignment[(r["call_id"], r["channel"], r["chunk_idx"])], r.asDict()))
        .partitionBy(n_parts, lambda p: p)
        .values()
        .mapPartitionsWithIndex(lambda i, rows: _transcribe_partition(i, rows, cfg, model_id, peaks, counts))
    )
    segments = spark.createDataFrame(rdd, schemas.SEGMENTS)
    segments.write.mode("overwrite").parquet(layout.segments(base))  # replaces a previous attempt's output whole
    workers = peaks.value
    result = {
        "chunks": len(keys),
        "segments": sum(counts.value.values()),
        "partitions": n_parts,
        "model": model_id,
        "cpu_threads": cfg.cpu_threads,
        "batch_size": cfg.batch_size,
        "workers": slots,
        "wall_s": round(time.time() - t0, 2),
        # Python processes only (the JVM is not counted): each worker's peak RSS, their sum, the driver's.
        "memory_mb": {
            "worker_peak": round(max(workers.values(), default=0), 1),
            "workers_sum": round(sum(workers.values()), 1),
            "worker_processes": len(workers),
            "driver": round(_peak_rss_mb(), 1),
        },
    }
    storage.write_text(layout.transcribe_stats(base), json.dumps(result, indent=2) + "\n")
    layout.publish(base, "transcribe")
    return result


def _transcribe_partition(index: int, rows, cfg: AsrConfig, model_id: str, peaks, counts):
    segments = list(transcribe_rows(list(rows), cfg, model_id))
    yield from segments
    peaks.add({f"{socket.gethostname()}:{os.getpid()}": _peak_rss_mb()})
    counts.add({index: len(segments)})

"""Transcribe (Spark): RUN/preprocess/chunks -> faster-whisper -> RUN/transcribe/segments.

One model per Python worker (module-level cache in asr.py; workers are reused), chunks from any calls batched
together, `cpu_threads` = spark.task.cpus so that workers x threads = cores.
"""
from __future__ import annotations

from dataclasses import replace

from .. import storage
from . import publish, require, unpublish
from ..asr import AsrConfig, resolve_model

SEGMENT_SCHEMA = (
    "call_id string, channel int, role string, chunk_idx int, seg_idx int, start_s double, end_s double, "
    "text string, avg_logprob double, no_speech_prob double, model_id string"
)


def assign_partitions(keys: list[tuple], n_parts: int) -> dict[tuple, int]:
    """Longest-processing-time-first: balance speech seconds across partitions, deterministically.

    `keys` are (call_id, channel, chunk_idx, speech_s). The same input always gives the same partitions, so batches
    (and thus results) are reproducible from run to run.
    """
    load = [0.0] * n_parts
    out = {}
    for call_id, ch, idx, speech in sorted(keys, key=lambda k: (-k[3], k[0], k[1], k[2])):
        p = min(range(n_parts), key=lambda i: (load[i], i))
        out[(call_id, ch, idx)] = p
        load[p] += speech
    return out


def transcribe_rows(rows, cfg: AsrConfig, model_id: str):
    """Transcribe one partition of chunk rows; yields segment tuples in call time."""
    from ..audio import from_pcm16
    from ..vad import to_call_time
    from ..asr import transcribe_chunks

    rows = sorted(rows, key=lambda r: (r["call_id"], r["channel"], r["chunk_idx"]))
    results = transcribe_chunks([from_pcm16(bytes(r["pcm"])) for r in rows], cfg)
    for r, segs in zip(rows, results):
        regions = [tuple(x) for x in r["regions"]]
        for j, s in enumerate(seg for seg in segs if seg["text"]):
            yield (r["call_id"], r["channel"], r["role"], r["chunk_idx"], j, to_call_time(s["start"], regions),
                   to_call_time(s["end"], regions, is_end=True), s["text"], s["avg_logprob"], s["no_speech_prob"], model_id)


def run(spark, out_uri: str, cfg: AsrConfig) -> dict:
    from ..spark import task_cpus, task_slots

    base = storage.normalize(out_uri)
    require(base, "preprocess")
    unpublish(base, "transcribe")
    cfg = replace(cfg, cpu_threads=cfg.cpu_threads or task_cpus(spark))
    _, model_id = resolve_model(cfg.model)  # fail fast on the driver if the model is missing
    chunks = spark.read.parquet(storage.join(base, "preprocess", "chunks"))
    keys = [tuple(r) for r in chunks.select("call_id", "channel", "chunk_idx", "speech_s").collect()]
    slots = task_slots(spark)
    # Enough chunks per task to fill batches, and at least one task per slot.
    n_parts = max(1, min(len(keys), slots * max(1, -(-len(keys) // (slots * cfg.batch_size * 4)))))
    assignment = assign_partitions(keys, n_parts)
    rdd = (chunks.rdd.map(lambda r: (assignment[(r["call_id"], r["channel"], r["chunk_idx"])], r.asDict()))
           .partitionBy(n_parts, lambda p: p).values()
           .mapPartitions(lambda rows: transcribe_rows(list(rows), cfg, model_id)))
    segments = spark.createDataFrame(rdd, SEGMENT_SCHEMA)
    out = storage.join(base, "transcribe", "segments")
    segments.write.mode("overwrite").parquet(out)  # replaces a previous attempt's output whole
    stats = spark.read.parquet(out).groupBy().count().first()
    publish(base, "transcribe")
    return {"chunks": len(keys), "segments": stats["count"], "partitions": n_parts, "model": model_id,
            "cpu_threads": cfg.cpu_threads, "workers": slots}

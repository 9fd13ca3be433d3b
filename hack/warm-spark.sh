#!/usr/bin/env bash
# Set-up step of `make env`: write the Spark driver's class-data archive (airwave.spark.class_archive) now, so that
# no run pays for it. The first local Spark session on a machine (per JDK and pyspark installation) writes it as
# its JVM exits, and that run is about twice as slow (dev set: 47.9 s, the next run 23.2 s; README, Performance).
# `airwave run` on sample_data loads the classes every stage needs (listing, decode, Parquet, the Python workers,
# the rejects and summary tables). A no-op once the archive exists, or with AIRWAVE_JVM_ARCHIVE_DIR=off.
#   hack/warm-spark.sh [PYTHON]    (default: .venv/bin/python)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${1:-$ROOT/.venv/bin/python}"
# class_archive() names the file a session would write: none when it exists already (or there is no java).
"$py" -c 'import sys; from airwave.spark import class_archive; sys.exit(class_archive()[1] is None)' || exit 0
echo "== writing the Spark driver's class-data archive (once per JDK and pyspark installation, ~30-40 s)"
unset AIRWAVE_SPARK_MASTER # the archive is for local drivers: warm up in local mode whatever the shell points at
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
if ! log="$("$py" -m airwave run "$ROOT/sample_data" --out "$out" 2>&1)"; then
  printf '%s\n' "$log" | tail -20 >&2
  echo "hack/warm-spark.sh: airwave run on sample_data failed (above)" >&2
  exit 1
fi

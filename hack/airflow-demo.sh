#!/usr/bin/env bash
# `make demo`: run the asr_pipeline DAG through Airflow on the embedded default — SQLite metadata DB under
# out/airflow/, the `local` Spark backend (spark-submit --master local[N]), sample_data/ in, transcripts out.
# No cluster, no manual steps. Extra args go to `airflow dags test` (e.g. -c '{"input": "/my/calls"}').
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV_BIN="${VENV_BIN:-$ROOT/.venv/bin}"
PY="$VENV_BIN/python"

if ! "$PY" -c "import airflow.sdk, airflow.providers.cncf.kubernetes, airwave" 2>/dev/null; then
  echo "== installing airwave with the [airflow] extra into $VENV_BIN (first run only)"
  "$PY" -m pip install -q -e "$ROOT[airflow]"
fi

export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/out/airflow}"   # project-local, gitignored (out/)
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
unset AIRFLOW__DATABASE__SQL_ALCHEMY_CONN                  # SQLite in $AIRFLOW_HOME
export AIRWAVE_SPARK_BACKEND=local
export AIRWAVE_RUNS_BASE="${AIRWAVE_RUNS_BASE:-$ROOT/out}"
mkdir -p "$AIRFLOW_HOME"
LOG="$AIRFLOW_HOME/demo-$(date +%Y%m%dT%H%M%S).log"

echo "== Airflow metadata DB (SQLite) in $AIRFLOW_HOME"
"$VENV_BIN/airflow" db migrate >>"$LOG" 2>&1 || { tail -30 "$LOG"; exit 1; }
SLOTS="$("$PY" -c 'from airwave.airflow.specs import stack; print(stack()["airflow"]["spark_pool_slots"])')"
POOL="$("$PY" -c 'from airwave.airflow.specs import stack; print(stack()["airflow"]["spark_pool"])')"
"$VENV_BIN/airflow" pools set "$POOL" "$SLOTS" "Spark clusters running at once" >>"$LOG" 2>&1

echo "== airflow dags test asr_pipeline (full log: $LOG)"
START=$(date +%s)
set +e
"$VENV_BIN/airflow" dags test asr_pipeline "$@" 2>&1 | tee -a "$LOG" \
  | grep --line-buffered -E '\[DAG TEST\] (starting|end) task|\] \{"stage"|WER|Task failed|new_state=(failed|up_for_retry)|DagRun Finished' \
  | sed -E 's/^[0-9T:.-]+Z \[[a-z ]+\] //; s/ +\[airflow[^]]*\].*//; s/(DagRun Finished: dag_id=[^,]*, [^,]*, run_id=[^,]*).*state=([a-z]+).*/\1, state=\2/'
RC=${PIPESTATUS[0]}
set -e
if [ "$RC" -ne 0 ]; then
  echo "!! asr_pipeline failed (exit $RC); see $LOG"
  exit "$RC"
fi

RUN="$(ls -td "$AIRWAVE_RUNS_BASE"/runs/*/ 2>/dev/null | head -1)"
echo
echo "== done in $(( $(date +%s) - START ))s. Results of this run: ${RUN%/}"
echo "   transcripts: ${RUN}calls/   ($(ls "${RUN}"calls/*.json 2>/dev/null | wc -l) calls: JSON, SRT, VTT each)"
[ -f "${RUN}report.json" ] && echo "   run report:  ${RUN}report.json"
[ -f "${RUN}eval/report.json" ] && echo "   WER report:  ${RUN}eval/report.json"
echo "   Airflow UI on the same DB: AIRFLOW_HOME=$AIRFLOW_HOME $VENV_BIN/airflow standalone"

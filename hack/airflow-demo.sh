#!/usr/bin/env bash
# `make demo`: run the asr_pipeline DAG through Airflow on the embedded default — SQLite metadata DB under
# out/airflow/, the `local` Spark backend (spark-submit --master local[N]), sample_data/ in, transcripts out.
# No cluster, no manual steps. Extra args go to `airflow dags test` (e.g. -c '{"input": "/my/calls"}'); DAG=<id>
# tests another DAG of dags/ the same way (docs/tutorial/03-your-own-stage.md).
# `hack/airflow-demo.sh --ui` instead starts the Airflow UI (airflow standalone) on the same DB, port 8080.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV_BIN="${VENV_BIN:-$ROOT/.venv/bin}"
PY="$VENV_BIN/python"
DAG="${DAG:-asr_pipeline}"

if ! "$PY" -c "import airflow.sdk, airflow.providers.cncf.kubernetes, airwave" 2>/dev/null; then
  echo "== installing airwave with the [airflow] extra into $VENV_BIN (first run only)"
  "$PY" -m pip install -q -e "${ROOT}[airflow]"
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
SLOTS="$("$PY" -c 'from airwave.cluster.specs import stack; print(stack()["airflow"]["spark_pool_slots"])')"
POOL="$("$PY" -c 'from airwave.cluster.specs import stack; print(stack()["airflow"]["spark_pool"])')"
"$VENV_BIN/airflow" pools set "$POOL" "$SLOTS" "Spark clusters running at once" >>"$LOG" 2>&1

if [ "${1:-}" = "--ui" ]; then
  echo "== Airflow UI on http://localhost:8080 (user admin, password printed below); Ctrl-C stops it"
  export PATH="$VENV_BIN:$PATH"   # standalone starts its components as `airflow ...`
  exec "$VENV_BIN/airflow" standalone
fi

echo "== airflow dags test $DAG (full log: $LOG)"
START=$(date +%s)
set +e
"$VENV_BIN/airflow" dags test "$DAG" "$@" 2>&1 | tee -a "$LOG" \
  | grep --line-buffered -E '\[DAG TEST\] (starting|end) task|\] \{"stage"|WER|Task failed|Exception: bad setting|new_state=(failed|up_for_retry)|DagRun Finished' \
  | sed -E 's/^[0-9T:.-]+Z \[[a-z ]+\] //; s/ +\[airflow[^]]*\].*//; s/(DagRun Finished: dag_id=[^,]*, [^,]*, run_id=[^,]*).*state=([a-z]+).*/\1, state=\2/'
RC=${PIPESTATUS[0]}
set -e
if [ "$RC" -ne 0 ]; then
  echo "!! $DAG failed (exit $RC); see $LOG"
  exit "$RC"
fi

RUN_ID="$(grep -o "DagRun Finished: dag_id=$DAG, [^,]*, run_id=[^,]*" "$LOG" | tail -1 | sed 's/.*run_id=//')"
RUN="$AIRWAVE_RUNS_BASE/runs/$("$PY" -c 'import sys; from airwave.cluster.specs import safe_run_id; print(safe_run_id(sys.argv[1]))' "$RUN_ID")/"
if [ "$DAG" != asr_pipeline ]; then
  echo "== $DAG done in $(( $(date +%s) - START ))s (run $RUN_ID)"
  exit 0
fi
echo
echo "== done in $(( $(date +%s) - START ))s. Results of this run: ${RUN%/}"
echo "   transcripts: ${RUN}calls/   ($(find "${RUN}calls" -name '*.json' | wc -l) calls: JSON, SRT, VTT each)"
[ -f "${RUN}report.json" ] && echo "   run report:  ${RUN}report.json"
[ -f "${RUN}eval/report.json" ] && echo "   WER report:  ${RUN}eval/report.json"
echo "   see the run in the Airflow UI: hack/airflow-demo.sh --ui"

#!/usr/bin/env bash
# Forward the Spark UI of the newest running Spark application to http://localhost:<spark.ui_port>.
# In client mode the driver is the Airflow task pod; executors carry an ownerReference to it, so the
# newest executor pod tells us which driver to forward. Started from Tilt (resource `spark-ui`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
port="$(sj spark.ui_port)"
while true; do
  driver="$(kc get pods -l spark-role=executor --sort-by=.metadata.creationTimestamp \
    -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].name}{"\n"}{end}' 2>/dev/null | tail -n1)"
  if [ -n "$driver" ]; then
    log "Spark UI of $driver on http://localhost:$port"
    kc port-forward "pod/$driver" "$port:$port" || true   # returns when the driver pod goes away
  fi
  sleep 3
done

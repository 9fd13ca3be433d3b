#!/bin/bash
# Entry point of the airwave-spark image.
#   executor   -> what Spark-on-Kubernetes runs in executor pods: it starts them with the single
#                 argument "executor" and passes everything else in SPARK_* env vars.
#   anything else is run as given (the driver pod runs `spark-submit ...` / `airwave ...` itself).
set -euo pipefail

if [ "${1:-}" != "executor" ]; then
  exec "$@"
fi

# Extra JVM options arrive as SPARK_JAVA_OPT_0, SPARK_JAVA_OPT_1, ... and must keep their order.
java_opts=()
for i in $(compgen -e | grep '^SPARK_JAVA_OPT_' | sed 's/^SPARK_JAVA_OPT_//' | sort -n); do
  var="SPARK_JAVA_OPT_$i"
  java_opts+=("${!var}")
done

classpath="${SPARK_HOME}/conf:${SPARK_HOME}/jars/*"
[ -n "${SPARK_EXTRA_CLASSPATH:-}" ] && classpath="${classpath}:${SPARK_EXTRA_CLASSPATH}"

exec "${JAVA_HOME}/bin/java" "${java_opts[@]}" \
  -Xms"${SPARK_EXECUTOR_MEMORY}" -Xmx"${SPARK_EXECUTOR_MEMORY}" \
  -cp "$classpath" \
  org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
  --driver-url "${SPARK_DRIVER_URL}" \
  --executor-id "${SPARK_EXECUTOR_ID}" \
  --cores "${SPARK_EXECUTOR_CORES}" \
  --app-id "${SPARK_APPLICATION_ID}" \
  --hostname "${SPARK_EXECUTOR_POD_IP}" \
  --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID}" \
  --podName "${SPARK_EXECUTOR_POD_NAME}"

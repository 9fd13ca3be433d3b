#!/usr/bin/env bash
# Spark 4 needs Java 17 or newer. Use the one on PATH (or JAVA_HOME); on Debian/Ubuntu as root, install it.
set -euo pipefail
major() { "$1" -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -1; }
for j in "${JAVA_HOME:+$JAVA_HOME/bin/java}" "$(command -v java || true)"; do
  if [ -n "$j" ] && [ -x "$j" ] && [ "$(major "$j")" -ge 17 ] 2>/dev/null; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing a Java runtime for Spark (openjdk-17-jre-headless)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  exit 0
fi
echo "Spark needs Java 17+: install it (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless;" \
     "macOS: brew install openjdk@17) and re-run." >&2
exit 1

# airwave: `make demo` runs the ASR pipeline on sample_data, `make test` runs the test suite.
# Both create the Python environment (.venv) on first use. The kind sandbox targets (up, down, e2e, ...)
# live in stack/stack.mk; see docs/stack.md.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= dev,airflow,stack
DEMO_OUT ?= out/demo
PIP_VERSION ?= 26.3

.PHONY: help env test-tools demo run-demo test test-fast go-test bench bench-memory bench-dag-sync sample-data clean
help:
	@echo "make demo      the ASR pipeline through Airflow (asr_pipeline DAG) on sample_data, no cluster"
	@echo "make run-demo  the same three Spark stages with 'airwave run' (no Airflow)"
	@echo "make test      the test suite (real Spark, real model; a few minutes)"
	@echo "make bench     throughput of airwave vs a plain faster-whisper script (bench/)"
	@echo "make bench-memory   peak memory of a Spark Python worker on the multi-minute call"
	@echo "make bench-dag-sync   seconds from saving a DAG file to Airflow parsing it"
	@echo "make up|down|status|logs|e2e|doctor   the kind sandbox (docs/stack.md)"

# Re-install when the pinned dependencies change.
# constraints.txt holds the whole resolved set (Airflow alone pulls ~150 packages), so a fresh machine gets the
# versions CI passed with rather than whatever is newest that day.
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip==$(PIP_VERSION)
	$(PY) -m pip install -q -c constraints.txt -e '.[$(EXTRAS)]'
	@touch $@

env: $(VENV)/.installed
	@hack/ensure-java.sh

demo: env
	hack/airflow-demo.sh

run-demo: env
	$(VENV)/bin/airwave run sample_data --out $(DEMO_OUT) --refs sample_data/manifest.json

# Pinned binaries and jars the stack tests use, into .tools/bin and stack/images/spark/jars (skipped when present):
# kustomize renders the manifests, kube-apiserver + etcd admit them, a MinIO server stands in for the cluster's,
# and the s3a jars let Spark reach it. A fresh machine compiles for ~15 min once (Go's build cache keeps it).
test-tools:
	@hack/tools.sh kustomize
	@hack/tools.sh minio
	@hack/tools.sh apiserver
	@hack/tools.sh jars

test: env test-tools go-test
	$(PY) -m pytest -q -ra $(PYTEST_ARGS)

# Our own Go programs (stack/images/*: the CNI daemon, pause, the git-sync stand-in): their unit tests.
GO_MODULES := $(dir $(wildcard stack/images/*/go.mod))
go-test:
	@for m in $(GO_MODULES); do (cd $$m && go test ./...) || exit 1; done

test-fast: env test-tools
	$(PY) -m pytest -q -m "not slow and not kind" $(PYTEST_ARGS)

bench: env
	$(PY) bench/throughput.py $(BENCH_ARGS)

bench-memory: env
	$(PY) bench/memory.py $(BENCH_ARGS)

# Save-a-DAG -> parsed by Airflow, through push, git server, git-sync-style poll and dag-processor (target < 15 s).
bench-dag-sync: env
	$(PY) bench/dag_sync.py $(BENCH_ARGS)

# Regenerate sample_data/ (needs flite + espeak-ng; the result is committed).
sample-data: env
	$(PY) hack/make_sample_data.py sample_data

clean:
	rm -rf out .bench .pytest_cache

-include stack/stack.mk

# airwave: `make demo` runs the ASR pipeline on sample_data, `make test` runs the test suite.
# Both create the Python environment (.venv) on first use. The kind sandbox targets (up, down, e2e, ...)
# live in stack/stack.mk; see docs/stack.md.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EXTRAS ?= dev,airflow,stack
DEMO_OUT ?= out/demo
PIP_VERSION ?= 26.3

.PHONY: help env test-tools demo run-demo verify test test-fast go-test bench bench-memory bench-dag-sync bench-sweep tutorial-screenshots sample-data clean
help:
	@echo "make demo      the ASR pipeline through Airflow (asr_pipeline DAG) on sample_data, no cluster"
	@echo "make run-demo  the same three Spark stages with 'airwave run' (no Airflow)"
	@echo "make verify    ruff (lint + format), mypy, shellcheck, manifests against the Kubernetes schemas"
	@echo "make test      the test suite (real Spark, real model; a few minutes)"
	@echo "make bench     throughput and WER of airwave vs a plain faster-whisper script, sample_data and dev set"
	@echo "make bench-memory   peak memory of a Spark Python worker on the multi-minute call"
	@echo "make bench-dag-sync   seconds from saving a DAG file to Airflow parsing it"
	@echo "make bench-sweep   transcribe on sample_data under a grid of Spark cluster shapes: time/cost frontier"
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
	@hack/warm-spark.sh $(PY)

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

# Static checks, the same ones pre-commit (.pre-commit-config.yaml) and CI run before the tests.
verify: env
	@hack/tools.sh kustomize
	hack/verify.sh

test: env test-tools go-test
	$(PY) -m pytest -q -ra $(PYTEST_ARGS)

# Our own Go programs (stack/images/*: the CNI daemon, pause, the git-sync stand-in): their unit tests.
GO_MODULES := $(dir $(wildcard stack/images/*/go.mod))
go-test:
	@for m in $(GO_MODULES); do (cd $$m && go test ./...) || exit 1; done

test-fast: env test-tools
	$(PY) -m pytest -q -m "not slow and not kind" $(PYTEST_ARGS)

# Two corpora, each run side by side with the plain script: sample_data replicated to >= 20 min of channel audio,
# and the development set (40 min of channel audio, 20 TTS voices, noise; tests/support/make_dev_set.py, built once into
# .bench/devset; it needs the TTS packages its docstring names).
bench: env .bench/devset/manifest.json
	$(PY) -m bench.throughput $(BENCH_ARGS)
	$(PY) -m bench.throughput --corpus .bench/devset --out .bench/dev-results.json $(BENCH_ARGS)

.bench/devset/manifest.json: tests/support/make_dev_set.py tests/support/make_sample_data.py
	$(PY) -m tests.support.make_dev_set .bench/devset

bench-memory: env
	$(PY) -m bench.memory $(BENCH_ARGS)

# Save-a-DAG -> parsed by Airflow, through push, git server, git-sync-style poll and dag-processor (target < 15 s).
bench-dag-sync: env
	$(PY) -m bench.dag_sync $(BENCH_ARGS)

# Cluster shapes for the transcribe stage (airwave sweep; README "Choosing a cluster shape"): every referenced call of
# sample_data under the default grid (6 shapes, sized for 2 cores); results in .bench/sweep/ (sweep.json, the table),
# the plot copied to docs/sweep.png. SWEEP_ARGS for another grid or sample, e.g. --grid '{"executors": [1, 2], ...}'.
bench-sweep: env
	rm -rf .bench/sweep
	$(VENV)/bin/airwave sweep sample_data --out .bench/sweep --refs sample_data/manifest.json --sample 0 $(SWEEP_ARGS)
	cp .bench/sweep/sweep.png docs/sweep.png

# The tutorial's pictures (docs/tutorial/img), from the running sandbox (make up): a fresh asr_pipeline run, opened in
# the Airflow UI and its transcripts in MinIO's console by headless Chromium (apt-get install chromium chromium-driver).
tutorial-screenshots: env
	$(PY) -m tests.support.sandbox trigger asr_pipeline
	$(PY) -m tests.support.sandbox check-ui asr_pipeline --screenshot docs/tutorial/img/airflow-run.png
	$(PY) -m tests.support.sandbox check-console asr_pipeline --transcripts 11 --screenshot docs/tutorial/img/minio-transcripts.png

# Regenerate sample_data/ (needs flite + espeak-ng; the result is committed).
sample-data: env
	$(PY) -m tests.support.make_sample_data sample_data

clean:
	rm -rf out .bench .pytest_cache

-include stack/stack.mk

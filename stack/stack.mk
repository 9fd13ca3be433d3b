# Targets for the kind sandbox; the top-level Makefile does `include stack/stack.mk`.
# Docs: docs/stack.md. Tools are pinned in hack/tools.sh and live in .tools/bin; point KIND,
# KUBECTL, TILT, KUSTOMIZE or DOCKER at other binaries to use those instead. Third-party images and
# base images are pinned in stack/sandbox/sandbox.json; override with MINIO_IMAGE, MC_IMAGE,
# POSTGRES_IMAGE, GIT_SYNC_IMAGE, REGISTRY_IMAGE, KIND_NODE_IMAGE, AIRFLOW_BASE_IMAGE, SPARK_BASE_IMAGE.

STACK_TOOLS_BIN := $(CURDIR)/.tools/bin
KIND      ?= $(STACK_TOOLS_BIN)/kind
KUBECTL   ?= $(STACK_TOOLS_BIN)/kubectl
TILT      ?= $(STACK_TOOLS_BIN)/tilt
KUSTOMIZE ?= $(STACK_TOOLS_BIN)/kustomize
DOCKER    ?= docker
AIRWAVE_PROFILE ?=
# `tilt up` keeps running with its UI on http://localhost:10350; on CI use `make up TILT_MODE=ci`:
# `tilt ci` returns once every resource is ready (or fails).
TILT_MODE ?= up
# OFFLINE=1: our node image and registry mirrors for machines that reach no container registry (our CI); build
# them first with `make offline-images`.
OFFLINE ?=

export KIND KUBECTL TILT KUSTOMIZE DOCKER AIRWAVE_PROFILE OFFLINE
export MINIO_IMAGE MC_IMAGE POSTGRES_IMAGE GIT_SYNC_IMAGE REGISTRY_IMAGE KIND_NODE_IMAGE AIRFLOW_BASE_IMAGE SPARK_BASE_IMAGE

.PHONY: up down status logs e2e doctor stack-tools offline-images kind-test

# Installs only what is missing (a prepared/offline machine downloads nothing).
stack-tools:
	@command -v "$(KIND)" >/dev/null || hack/tools.sh kind
	@command -v "$(KUBECTL)" >/dev/null || hack/tools.sh kubectl
	@command -v "$(TILT)" >/dev/null || hack/tools.sh tilt
	@command -v "$(KUSTOMIZE)" >/dev/null || hack/tools.sh kustomize
	@hack/tools.sh jars

# env: Tilt's sample-data upload runs the project venv (tests/support/s3.py: pyarrow + the Kubernetes client).
up: env stack-tools
	hack/doctor.sh
	hack/cluster.sh up
	$(TILT) $(TILT_MODE) --file Tiltfile

down:
	-$(TILT) down --file Tiltfile 2>/dev/null
	hack/cluster.sh down

status:
	hack/cluster.sh status

logs:
	$(KUBECTL) --context kind-airwave -n airwave logs --all-containers --prefix --tail=200 \
	  -l app.kubernetes.io/part-of=airwave --max-log-requests=20

# The pipeline through Airflow on the running sandbox, its Spark clusters, the DAG edit loop and the faults it must
# survive (tests/stack/test_e2e.py), then the tutorial's sandbox steps: the Airflow UI and MinIO console in headless
# Chromium, and the stage edit loop through a `tilt up` (tests/stack/test_tutorial_sandbox.py). Measurements go to
# out/e2e/metrics.json.
e2e: env
	$(PY) -m pytest -q -ra -s -m e2e tests/stack/test_e2e.py tests/stack/test_tutorial_sandbox.py $(PYTEST_ARGS)

doctor:
	hack/doctor.sh

# The kind node image and every system image, built from pinned sources (root, Docker; ~40 min cold on 2 cores,
# cached in ~/.cache/airwave and Go's caches). Only for machines that cannot pull: see docs/stack.md.
offline-images:
	hack/offline-images.sh

# The cluster itself, both profiles, against real kind clusters (pytest -m kind): nodes, DNS, pod network across
# nodes, storage, pulls through the registry, hack/cluster.sh and make down. Creates and deletes clusters. Plus the
# pinned MinIO image in a testcontainers container (needs it present locally: pulled, or `make offline-images`).
kind-test: env
	@command -v "$(KIND)" >/dev/null || hack/tools.sh kind
	@command -v "$(KUBECTL)" >/dev/null || hack/tools.sh kubectl
	$(PY) -m pytest -q -ra -m kind tests/stack/test_kind_cluster.py tests/stack/test_minio_container.py $(PYTEST_ARGS)

"""One source for each name: src/airwave/cluster/defaults.json (what the package uses at run time) or
stack/sandbox/sandbox.json (the sandbox's layout). kustomize writes sandbox.json's values into the manifests
(stack/sandbox), so those are not compared here, only that every target exists. Compared with their source: what
kustomize cannot reach, i.e. defaults.json names in the manifests (kustomize cannot read the package),
kind-config.yaml, the registry files, Dockerfile base images (and the worker pod template, test_pod_template.py)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import yaml

from support import stackfiles

from .conftest import ROOT, containers, find, pod_specs


def _leaves(d: dict, prefix: str = "") -> set[str]:
    """Dotted paths of the values in `d` (comment keys skipped)."""
    out = set()
    for key, v in d.items():
        if not key.startswith("_"):
            out |= _leaves(v, f"{prefix}{key}.") if isinstance(v, dict) else {prefix + key}
    return out


def test_the_two_files_split_cleanly():
    defaults = json.loads(stackfiles.DEFAULTS_JSON.read_text())
    sandbox = json.loads(stackfiles.SANDBOX_JSON.read_text())
    # hack/lib.sh (sj), the Tiltfile and tests/support merge them section by section: a key in both is ambiguous
    assert not _leaves(defaults) & _leaves(sandbox)
    # the package (wheel, images) carries none of the sandbox's layout
    assert not {
        k
        for k in _leaves(defaults)
        if re.search(r"host_port|node_port|host_endpoint|upstream_images|cluster_name|registry", k)
    }


def test_every_value_from_sandbox_json_reaches_its_target(rendered):
    """kustomize fails on a missing target field, but skips a target object that is not there (renamed, say),
    which would leave its placeholder in the manifests."""
    component = yaml.safe_load((ROOT / "stack/sandbox/kustomization.yaml").read_text())
    for r in component["replacements"]:
        for t in r["targets"]:
            find(rendered, t["select"]["kind"], t["select"]["name"])
    assert not any(d["kind"] == "Sandbox" for d in rendered), "sandbox.json is a source, never deployed"
    text = yaml.safe_dump_all(rendered)  # placeholders left (NodePorts: see the kind-config test)
    assert "upstream_images." not in text and "airflow.host_port" not in text


def all_images(rendered) -> set[str]:
    return {c["image"] for _, spec in pod_specs(rendered) for c in containers(spec)}


def test_every_image_is_ours_or_a_pinned_upstream(rendered, stack):
    ours = {f"{stack['images'][k]}:{stack['images']['tag']}" for k in ("airflow", "spark")}
    upstream = {v for k, v in stack["upstream_images"].items() if not k.startswith("_") and isinstance(v, str)}
    for image in all_images(rendered):
        assert image in ours | upstream, f"{image} is neither built here nor pinned in sandbox.json upstream_images"
        assert not image.endswith(":latest") and ":" in image.rsplit("/", 1)[-1], f"{image} is not pinned"
    # and each upstream image meant for the cluster is actually used (a stale pin would go unnoticed)
    for key in ("minio", "mc", "postgres", "git_sync"):
        assert stack["upstream_images"][key] in all_images(rendered), key


def test_our_images_live_in_the_local_registry(stack):
    for k in ("airflow", "spark"):
        assert stack["images"][k].startswith(stack["registry"]["host"] + "/")
    assert stack["registry"]["host"] == f"localhost:{stack['registry']['host_port']}"


def test_dockerfile_base_images_match_sandbox_json(stack):
    for which, key, arg in (
        ("airflow", "airflow_base", "AIRFLOW_BASE_IMAGE"),
        ("spark", "spark_base", "SPARK_BASE_IMAGE"),
    ):
        text = (ROOT / "stack/images" / which / "Dockerfile").read_text()
        assert re.search(rf"^ARG {arg}=(\S+)$", text, re.M).group(1) == stack["upstream_images"][key]
        assert re.search(rf"^FROM \${{{arg}}}$", text, re.M), f"{which}: FROM must use the build arg"
        assert stack["upstream_images"]["env_overrides"][key] == arg


def test_airflow_image_pyarrow_pin_matches_pyproject():
    pyproject = (ROOT / "pyproject.toml").read_text()
    pin = re.search(r'"pyarrow==([^"]+)"', pyproject).group(1)
    dockerfile = (ROOT / "stack/images/airflow/Dockerfile").read_text()
    assert re.search(r"^ARG PYARROW_VERSION=(\S+)$", dockerfile, re.M).group(1) == pin


def test_settings_the_dags_read_are_real(rendered):
    """AIRWAVE_* settings in airflow-env must be read by the DAGs or the package (no dead config)."""
    env = find(rendered, "ConfigMap", "airflow-env")["data"]
    code = "\n".join(p.read_text() for d in ("dags", "src/airwave") for p in (ROOT / d).rglob("*.py"))
    code += stackfiles.DEFAULTS_JSON.read_text()
    for key in (k for k in env if k.startswith("AIRWAVE_")):
        assert f'"{key}"' in code, f"{key} is set for Airflow but nothing reads it"


def test_services_and_ports(rendered, stack):
    # The in-cluster URLs (a JSON value each, read by Python) name a Service of the stack and one of its ports.
    for url, port_name in (
        (stack["minio"]["cluster_endpoint"], "api"),
        (stack["airflow"]["execution_api_url"], "api"),
        (stack["git_server"]["cluster_url"], "http"),
    ):
        u = urlsplit(url)
        name, rest = u.hostname.split(".", 1)
        assert rest == f"{stack['namespace']}.svc.cluster.local", url
        ports = {p["name"]: p["port"] for p in find(rendered, "Service", name)["spec"]["ports"]}
        assert ports[port_name] == (u.port or 80), url
    assert urlsplit(stack["airflow"]["execution_api_url"]).path == "/execution/"
    assert urlsplit(stack["git_server"]["cluster_url"]).path == "/" + stack["git_server"]["repo"]
    assert stack["minio"]["host_endpoint"] == f"http://localhost:{stack['minio']['host_port']}"

    # every Service selects pods that exist, on a port name the container declares
    workloads = {n: s for n, s in pod_specs(rendered)}
    for svc in (d for d in rendered if d["kind"] == "Service"):
        sel = svc["spec"]["selector"]
        matches = [
            d
            for d in rendered
            if d["kind"] == "Deployment" and sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matches) == 1, f"Service {svc['metadata']['name']} selects {len(matches)} deployments"
        declared = {
            cp["name"] for c in workloads[matches[0]["metadata"]["name"]]["containers"] for cp in c.get("ports", [])
        }
        for sp in svc["spec"]["ports"]:
            assert sp["targetPort"] in declared, f"{svc['metadata']['name']}: targetPort {sp['targetPort']}"


def test_kind_config_maps_host_ports_to_the_node_ports(rendered, stack):
    cfg = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    assert cfg["name"] == stack["cluster_name"]
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles == ["control-plane", "worker"]
    mappings = {m["containerPort"]: m for m in cfg["nodes"][0]["extraPortMappings"]}
    expected = {
        stack["airflow"]["node_port"]: stack["airflow"]["host_port"],
        stack["minio"]["node_port"]: stack["minio"]["host_port"],
        stack["minio"]["console_node_port"]: stack["minio"]["console_host_port"],
        stack["git_server"]["node_port"]: stack["git_server"]["host_port"],
    }
    assert {cp: m["hostPort"] for cp, m in mappings.items()} == expected
    # ... and those are the stack's NodePorts (written into the Services from sandbox.json)
    assert {
        p["nodePort"] for d in rendered if d["kind"] == "Service" for p in d["spec"]["ports"] if "nodePort" in p
    } == set(expected)
    assert all(m["listenAddress"] == "127.0.0.1" for m in mappings.values()), "host ports must stay on loopback"
    # containerd reads per-registry hosts.toml files (kind's local-registry recipe)
    assert any('config_path = "/etc/containerd/certs.d"' in p for p in cfg["containerdConfigPatches"])


def test_registry_wiring(stack):
    hosting = yaml.safe_load((ROOT / "stack/registry/local-registry-hosting.yaml").read_text())
    assert (hosting["metadata"]["namespace"], hosting["metadata"]["name"]) == ("kube-public", "local-registry-hosting")
    assert yaml.safe_load(hosting["data"]["localRegistryHosting.v1"])["host"] == stack["registry"]["host"]
    hosts = (ROOT / "stack/registry/hosts.toml").read_text()
    assert f'[host."http://{stack["registry"]["name"]}:{stack["registry"]["container_port"]}"]' in hosts


def test_buckets_created_match_defaults_json(rendered, stack):
    job = find(rendered, "Job", "minio-buckets")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    loop = re.search(r"for b in ([^;]+);", script).group(1).split()
    assert loop == stack["minio"]["buckets"] + [stack["minio"]["logs_bucket"]]
    assert stack["minio"]["cluster_endpoint"] in script


def test_minio_credentials_only_from_the_secret(rendered, stack):
    secret = find(rendered, "Secret", stack["minio"]["credentials_secret"])
    keys = set(secret["stringData"])
    assert set(stack["minio"]["credentials_keys"].values()) == keys
    for name, spec in pod_specs(rendered):
        for c in containers(spec):
            for e in c.get("env", []):
                # never a literal credential (a host AWS_* value pasted in, say)
                if e["name"] in (
                    "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY",
                    "MINIO_ROOT_USER",
                    "MINIO_ROOT_PASSWORD",
                ):
                    assert e["valueFrom"]["secretKeyRef"]["name"] == secret["metadata"]["name"], f"{name}/{c['name']}"
                    assert e["valueFrom"]["secretKeyRef"]["key"] in keys
                assert "AWS_PROFILE" not in e["name"] and "AWS_SESSION_TOKEN" not in e["name"]


def test_airflow_settings_agree_with_defaults_json(rendered, stack):
    env = find(rendered, "ConfigMap", "airflow-env")["data"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == stack["airflow"]["execution_api_url"]
    assert env["AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE"] == stack["namespace"]
    assert env["AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID"] == stack["airflow"]["minio_conn_id"]
    assert env["AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER"] == f"s3://{stack['minio']['logs_bucket']}"
    assert env[stack["airflow"]["spark_backend_env"]] == "kubernetes"
    assert env["AWS_ENDPOINT_URL"] == stack["minio"]["cluster_endpoint"]
    conn_var = f"AIRFLOW_CONN_{stack['airflow']['minio_conn_id'].upper()}"
    values = set()
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        for c in find(rendered, "Deployment", name)["spec"]["template"]["spec"]["containers"]:
            if c["image"].startswith(stack["images"]["airflow"]):
                assert conn_var in {e["name"] for e in c.get("env", [])}, f"{name}: no {conn_var}"
                values |= {e["value"] for e in c["env"] if e["name"] == conn_var}
    assert len(values) == 1, "every component must define the same MinIO connection"
    migrate = find(rendered, "Job", "airflow-migrate")["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f"airflow pools set {stack['airflow']['spark_pool']} {stack['airflow']['spark_pool_slots']} " in migrate
    # The DB URL and Postgres' own settings must describe the same database.
    pg = find(rendered, "Secret", "airflow-postgres")["stringData"]
    url = find(rendered, "Secret", "airflow-secrets")["stringData"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url == (
        f"postgresql+psycopg2://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}"
        f"@airflow-postgres:5432/{pg['POSTGRES_DB']}"
    )
    find(rendered, "Service", "airflow-postgres")


def test_airflow_components_share_one_jwt_secret(rendered):
    """Scheduler-minted task tokens must verify at the api-server: all take the same Secret."""
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        spec = find(rendered, "Deployment", name)["spec"]["template"]["spec"]
        refs = {e["secretRef"]["name"] for e in spec["containers"][0]["envFrom"] if "secretRef" in e}
        assert "airflow-secrets" in refs, name
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in find(rendered, "Secret", "airflow-secrets")["stringData"]


def test_kubectl_pin_matches_the_node_image(stack):
    tools = (ROOT / "hack/tools.sh").read_text()
    kubectl = re.search(r"^KUBECTL_VERSION=(v[\d.]+)", tools, re.M).group(1)
    node = stack["upstream_images"]["kind_node"]
    assert node.split("@")[0].endswith(":" + kubectl)
    assert re.search(r"@sha256:[0-9a-f]{64}$", node), "kind asks for node images pinned by digest"
    assert re.search(r"^KUSTOMIZE_VERSION=v5\.\d+\.\d+", tools, re.M)

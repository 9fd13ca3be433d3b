"""Runs the Tiltfile (and tilt/*.tiltfile) against stubs of Tilt's API, with the real kustomize
output, and checks what it would deploy: every workload is a configured resource, dependencies
exist, the config resource covers every non-workload object, links and overrides use
defaults.json / sandbox.json.
The Tiltfiles are written in the subset of Starlark that Python also runs."""

from __future__ import annotations

import os
import shlex
import subprocess
import types

import pytest
import yaml

from .conftest import ROOT, kustomize_bin, stack_json

WORKLOAD_KINDS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}


class TiltError(Exception):
    pass


def run_tiltfile(env: dict[str, str] | None = None, context: str | None = None) -> dict:
    env = dict(env or {})
    env.setdefault("KUSTOMIZE", kustomize_bin())
    rec = {"k8s_yaml": [], "k8s_resource": [], "local_resource": [], "custom_build": [], "context": None}
    g: dict = {}

    def read_json(path, default=None):
        import json

        return json.loads((ROOT / path).read_text())

    def kustomize(pathToDir, kustomize_bin=None, flags=[]):  # noqa: N803 (Tilt's name)
        return subprocess.run(
            [kustomize_bin, "build", str(ROOT / pathToDir), *flags], check=True, capture_output=True, text=True
        ).stdout

    def load(path, *names):
        ns = dict(api)
        exec(compile((ROOT / path).read_text(), path, "exec"), ns)
        for n in names:
            g[n] = ns[n]

    def fail(msg):
        raise TiltError(msg)

    # Stubs with Tilt's own signatures (internal/tiltfile/api/__init__.py; `cmd` is optional in the Go
    # implementation), so a misspelt or unknown argument fails here as it would in Tilt.
    def local_resource(
        name,
        cmd="",
        deps=None,
        trigger_mode="auto",
        resource_deps=[],
        ignore=[],
        auto_init=True,
        serve_cmd="",
        cmd_bat="",
        serve_cmd_bat="",
        allow_parallel=False,
        links=[],
        labels=[],
        env={},
        serve_env={},
        readiness_probe=None,
        dir="",
        serve_dir="",
    ):
        assert cmd or serve_cmd, f"{name}: nothing to run"
        rec["local_resource"].append(
            dict(
                name=name,
                cmd=cmd,
                serve_cmd=serve_cmd,
                deps=deps or [],
                ignore=ignore,
                resource_deps=resource_deps,
                links=links,
                labels=labels,
            )
        )

    def k8s_resource(
        workload="",
        new_name="",
        port_forwards=[],
        extra_pod_selectors=[],
        trigger_mode="auto",
        resource_deps=[],
        objects=[],
        auto_init=True,
        pod_readiness="",
        links=[],
        labels=[],
        discovery_strategy="",
    ):
        rec["k8s_resource"].append(
            dict(
                workload=workload,
                new_name=new_name,
                resource_deps=resource_deps,
                objects=objects,
                links=links,
                labels=labels,
            )
        )

    def custom_build(
        ref,
        command,
        deps,
        tag="",
        disable_push=False,
        skips_local_docker=False,
        live_update=[],
        match_in_env_vars=False,
        ignore=[],
        entrypoint=[],
        command_bat_val="",
        outputs_image_ref_to="",
        command_bat="",
        image_deps=[],
        env={},
        dir="",
    ):
        rec["custom_build"].append(
            dict(ref=ref, command=command, deps=deps, ignore=ignore, tag=tag, match_in_env_vars=match_in_env_vars)
        )

    def version_settings(check_updates=True, constraint=""):
        pass

    def update_settings(
        max_parallel_updates=3,
        k8s_upsert_timeout_secs=30,
        suppress_unused_image_warnings=None,
        k8s_server_side_apply="auto",
    ):
        pass

    def allow_k8s_contexts(contexts):
        rec["context"] = contexts

    def k8s_yaml(yaml_, allow_duplicates=False):
        rec["k8s_yaml"].extend(d for d in yaml.safe_load_all(yaml_) if d)

    def link(url, name=None):
        return (url, name)

    api = {
        "version_settings": version_settings,
        "read_json": read_json,
        "k8s_context": lambda: context or f"kind-{stack_json()['cluster_name']}",
        "allow_k8s_contexts": allow_k8s_contexts,
        "update_settings": update_settings,
        "secret_settings": lambda disable_scrub=False: None,
        "fail": fail,
        "load": load,
        "os": types.SimpleNamespace(getenv=lambda k, d=None: env.get(k, d)),
        "kustomize": kustomize,
        "blob": lambda s: s,
        "decode_yaml_stream": lambda s: [d for d in yaml.safe_load_all(s) if d],
        "k8s_yaml": k8s_yaml,
        "k8s_resource": k8s_resource,
        "local_resource": local_resource,
        "custom_build": custom_build,
        "link": link,
        "TRIGGER_MODE_MANUAL": "manual",
    }
    g.update(api)
    exec(compile((ROOT / "Tiltfile").read_text(), "Tiltfile", "exec"), g)
    return rec


@pytest.fixture(scope="module")
def tilt():
    return run_tiltfile()


def resources(rec) -> dict[str, dict]:
    out = {}
    for r in rec["k8s_resource"]:
        out[r.get("new_name") or r["workload"]] = r
    for r in rec["local_resource"]:
        out[r["name"]] = r
    return out


def test_deploys_exactly_the_kustomize_output(tilt, rendered):
    assert tilt["k8s_yaml"] == rendered


def test_every_workload_is_a_configured_resource(tilt):
    workloads = {d["metadata"]["name"] for d in tilt["k8s_yaml"] if d["kind"] in WORKLOAD_KINDS}
    configured = {r["workload"] for r in tilt["k8s_resource"] if r["workload"]}
    assert configured == workloads


def test_config_resource_covers_every_other_object_once(tilt):
    (cfg,) = [r for r in tilt["k8s_resource"] if r.get("new_name") == "stack-config"]
    others = [d for d in tilt["k8s_yaml"] if d["kind"] not in WORKLOAD_KINDS | {"Service"}]
    for obj in others:  # Tilt's selector name:kind is an exact, case-insensitive match
        sel = f"{obj['metadata']['name']}:{obj['kind'].lower()}"
        assert cfg["objects"].count(sel) == 1, sel
    assert len(cfg["objects"]) == len(others)


def test_dependencies_exist_and_have_no_cycle(tilt):
    res = resources(tilt)
    deps = {name: r.get("resource_deps", []) for name, r in res.items()}
    for name, ds in deps.items():
        for d in ds:
            assert d in res, f"{name} depends on unknown resource {d}"
    seen, done = set(), set()

    def visit(n):
        assert n not in seen or n in done, f"dependency cycle through {n}"
        if n in done:
            return
        seen.add(n)
        for d in deps[n]:
            visit(d)
        done.add(n)

    for n in deps:
        visit(n)
    # every workload waits for its namespace/config; image users wait for the image
    for r in tilt["k8s_resource"]:
        if r["workload"]:
            chain, todo = set(), [r["workload"]]
            while todo:
                n = todo.pop()
                chain |= set(deps[n])
                todo += deps[n]
            assert "stack-config" in chain, r["workload"]


def env_values(doc: dict) -> set[str]:
    spec = doc["spec"]["template"]["spec"]
    return {e.get("value", "") for c in spec["containers"] + spec.get("initContainers", []) for e in c.get("env", [])}


def test_images_are_built_by_tilt_with_content_tags(tilt, stack):
    """Tilt builds both images (no fixed tag: content-addressed) and swaps the exact ref into container images and
    env vars; the Spark image is only named in the scheduler's env, which hands it to every worker pod."""
    builds = {b["ref"]: b for b in tilt["custom_build"]}
    assert set(builds) == {stack["images"]["airflow"], stack["images"]["spark"]}
    workloads = [d for d in tilt["k8s_yaml"] if d["kind"] in WORKLOAD_KINDS]
    for ref, b in builds.items():
        assert b["match_in_env_vars"] and not b["tag"], ref
        assert "$EXPECTED_REF" in b["command"], ref
        tok = shlex.split(b["command"].split("&&")[-1])[0]
        assert os.access(ROOT / tok, os.X_OK), tok
        for dep in b["deps"]:
            assert (ROOT / dep).exists(), f"{ref}: watched path {dep} does not exist"
    (scheduler,) = [d for d in workloads if d["metadata"]["name"] == "airflow-scheduler"]
    env = {e["name"]: e.get("value") for e in scheduler["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["AIRWAVE_AIRFLOW_IMAGE"].startswith(stack["images"]["airflow"] + ":")
    assert env["AIRWAVE_SPARK_IMAGE"].startswith(stack["images"]["spark"] + ":")
    assert not any(r["name"].endswith("-image") for r in tilt["local_resource"])  # no second build path


def test_local_resources_run_scripts_that_exist(tilt):
    for r in tilt["local_resource"]:
        cmd = r.get("cmd") or r.get("serve_cmd")
        for part in cmd.split("&&"):
            argv = shlex.split(part.strip().lstrip("("))
            tok = argv[0]
            if tok.startswith("hack/"):
                assert os.access(ROOT / tok, os.X_OK), f"{r['name']}: {tok} missing or not executable"
            if tok.endswith("python") or tok.endswith("python3"):  # the project venv, running a module of the checkout
                assert tok == ".venv/bin/python" and argv[1] == "-m", f"{r['name']}: {part}"
                assert (ROOT / (argv[2].replace(".", "/") + ".py")).exists(), f"{r['name']}: no module {argv[2]}"
        for dep in r["deps"]:
            assert (ROOT / dep).exists(), f"{r['name']}: watched path {dep} does not exist"


def test_links_and_upload_use_the_json_files(tilt, stack):
    res = resources(tilt)
    urls = {url for r in res.values() for url, _ in r.get("links", [])}
    assert f"http://localhost:{stack['airflow']['host_port']}" in urls
    assert f"http://localhost:{stack['minio']['console_host_port']}" in urls
    assert f"http://localhost:{stack['spark']['ui_port']}" in urls
    upload = shlex.split(res["sample-data"]["cmd"])
    bucket = upload[-1].split("/")[2]
    assert bucket in stack["minio"]["buckets"]
    assert "dags-push" in res


def test_image_override_by_env(stack):
    mirror = "mirror.example/minio:pinned"
    rec = run_tiltfile(env={stack["upstream_images"]["env_overrides"]["minio"]: mirror})
    images = {
        c["image"]
        for d in rec["k8s_yaml"]
        if d["kind"] in WORKLOAD_KINDS
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert mirror in images and stack["upstream_images"]["minio"] not in images


def test_lite_profile_deploys_the_lite_overlay():
    from .conftest import LITE, render

    assert run_tiltfile(env={"AIRWAVE_PROFILE": "lite"})["k8s_yaml"] == render(LITE)


def test_refuses_a_foreign_kube_context():
    with pytest.raises(TiltError, match="expected 'kind-"):
        run_tiltfile(context="prod-cluster")

"""hack/ scripts: syntax, sandbox.json / defaults.json lookups and overrides, nothing importing from hack/, the Spark
entrypoint."""

from __future__ import annotations

import ast
import os
import subprocess

import pytest

from .conftest import ROOT, stack_json

SHELL = sorted((ROOT / "hack").glob("*.sh")) + [ROOT / "stack/images/spark/entrypoint.sh"]


@pytest.mark.parametrize("script", SHELL, ids=lambda p: p.name)
def test_shell_scripts_parse_and_are_executable(script):
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert script.name == "lib.sh" or os.access(script, os.X_OK)


def sh(code: str, **env) -> str:
    return subprocess.run(
        ["bash", "-c", f". {ROOT}/hack/lib.sh; {code}"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    ).stdout.strip()


def test_lib_reads_both_json_files_and_env_overrides():
    st = stack_json()
    assert sh("sj images.airflow") == st["images"]["airflow"]
    assert sh("sj minio.buckets") == " ".join(st["minio"]["buckets"])  # defaults.json
    assert sh("sj minio.host_port") == str(st["minio"]["host_port"])  # the same section's sandbox.json half
    assert sh("upstream_image minio", MINIO_IMAGE="") == st["upstream_images"]["minio"]
    assert sh("upstream_image minio", MINIO_IMAGE="mirror/minio:x") == "mirror/minio:x"
    assert sh('echo "$KUBE_CONTEXT"') == f"kind-{st['cluster_name']}"


def test_lite_profile_drops_the_worker_node():
    import yaml

    cluster_sh = (ROOT / "hack/cluster.sh").read_text()
    assert "sed '/^  - role: worker/,$d'" in cluster_sh
    out = subprocess.run(
        ["sed", "/^  - role: worker/,$d", str(ROOT / "kind-config.yaml")], check=True, capture_output=True, text=True
    ).stdout
    lite = yaml.safe_load(out)
    assert [n["role"] for n in lite["nodes"]] == ["control-plane"]
    assert (
        lite["nodes"][0]["extraPortMappings"]
        == yaml.safe_load((ROOT / "kind-config.yaml").read_text())["nodes"][0]["extraPortMappings"]
    )


def test_nothing_imports_from_hack():
    """kind's rule: hack/ holds shell entry points and build glue, nothing there is reused. Test fixtures and corpus
    generators live in tests/support, imported as a package rather than by editing sys.path."""
    assert not sorted((ROOT / "hack").rglob("*.py"))
    offenders = []
    for top in ("src", "tests", "bench", "dags"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in ("insert", "append")
                    and ast.unparse(node.value) == "sys.path"
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


def test_spark_executor_entrypoint_builds_the_backend_command(tmp_path):
    java = tmp_path / "jdk/bin/java"
    java.parent.mkdir(parents=True)
    java.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    java.chmod(0o755)
    env = {
        "PATH": os.environ["PATH"],
        "JAVA_HOME": str(tmp_path / "jdk"),
        "SPARK_HOME": "/opt/spark",
        "SPARK_EXECUTOR_MEMORY": "2g",
        "SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@10.0.0.5:7078",
        "SPARK_EXECUTOR_ID": "3",
        "SPARK_EXECUTOR_CORES": "1",
        "SPARK_APPLICATION_ID": "spark-app-1",
        "SPARK_EXECUTOR_POD_IP": "10.0.0.9",
        "SPARK_RESOURCE_PROFILE_ID": "0",
        "SPARK_EXECUTOR_POD_NAME": "ex-3",
        "SPARK_JAVA_OPT_10": "-Dten",
        "SPARK_JAVA_OPT_2": "-Dtwo",
        "SPARK_JAVA_OPT_0": "-Dzero",
    }
    out = subprocess.run(
        [str(ROOT / "stack/images/spark/entrypoint.sh"), "executor"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert out[:3] == ["-Dzero", "-Dtwo", "-Dten"], "JVM options keep Spark's numeric order"
    assert out[3:7] == ["-Xms2g", "-Xmx2g", "-cp", "/opt/spark/conf:/opt/spark/jars/*"]
    assert out[7] == "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend"
    args = dict(zip(out[8::2], out[9::2], strict=False))
    assert args == {
        "--driver-url": env["SPARK_DRIVER_URL"],
        "--executor-id": "3",
        "--cores": "1",
        "--app-id": "spark-app-1",
        "--hostname": "10.0.0.9",
        "--resourceProfileId": "0",
        "--podName": "ex-3",
    }
    # anything else is run as given (the driver pod's own command)
    assert (
        subprocess.run(
            [str(ROOT / "stack/images/spark/entrypoint.sh"), "echo", "hi"], capture_output=True, text=True, check=True
        ).stdout
        == "hi\n"
    )

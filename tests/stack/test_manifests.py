"""Every manifest, the kustomize output included, validates against the Kubernetes OpenAPI schemas
(offline, strict: unknown fields are errors) for each supported Kubernetes version."""

from __future__ import annotations

import kubernetes_validate
import pytest
import yaml

from .conftest import BASE, K8S_VERSIONS, LITE, ROOT, STACK_DIR, find, render


def _validate(doc: dict, version: str) -> None:
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as e:
        raise AssertionError(
            f"{doc['kind']}/{doc['metadata'].get('name')} invalid for {version}: {e.message}"
        ) from None


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_rendered_stack_validates(rendered, version):
    assert len(rendered) > 20
    for doc in rendered:
        _validate(doc, version)


# base + each component; not stack/sandbox, a kustomize Component (values the others include), not a part of the stack
COMPONENTS = sorted(
    p.parent for p in STACK_DIR.glob("*/kustomization.yaml") if yaml.safe_load(p.read_text())["kind"] == "Kustomization"
)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda p: p.name)
def test_each_component_renders_alone_into_the_namespace(component, stack):
    docs = render(component)
    for doc in docs:
        _validate(doc, K8S_VERSIONS[-1])
        if doc["kind"] == "Namespace":  # cluster-scoped: it *is* the namespace
            assert doc["metadata"]["name"] == stack["namespace"]
        else:
            assert doc["metadata"].get("namespace") == stack["namespace"], f"{doc['kind']}/{doc['metadata']['name']}"


def test_components_are_all_in_the_stack():
    top = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    assert {f"../{p.name}" for p in COMPONENTS if p != BASE} == {r for r in top["resources"] if r.startswith("../")}


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_lite_profile_validates_and_only_shrinks(rendered, version, stack):
    lite = render(LITE)
    for doc in lite:
        _validate(doc, version)
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, lite)) == sorted(map(key, rendered)), "same objects, only smaller"
    base = {key(d): d for d in rendered}
    for doc in lite:
        if doc["kind"] != "Deployment":
            continue
        for c_lite, c_base in zip(
            doc["spec"]["template"]["spec"]["containers"],
            base[key(doc)]["spec"]["template"]["spec"]["containers"],
            strict=False,
        ):
            assert c_lite["image"] == c_base["image"]
            assert c_lite["resources"]["limits"] == c_base["resources"]["limits"]
            assert _mib(c_lite["resources"]["requests"]["memory"]) <= _mib(c_base["resources"]["requests"]["memory"])
    migrate = find(lite, "Job", "airflow-migrate")["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert f"airflow pools set {stack['airflow']['spark_pool']} 1 " in migrate


def _mib(v: str) -> float:
    return float(v[:-2]) * (1024 if v.endswith("Gi") else 1)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_plain_manifests_and_embedded_pod_templates_validate(rendered, version):
    # Applied by hack/cluster.sh, outside the kustomization.
    _validate(yaml.safe_load((ROOT / "stack/registry/local-registry-hosting.yaml").read_text()), version)
    # Pod templates travel inside ConfigMaps: validate them as the Pods they become.
    templates = [
        yaml.safe_load(text)
        for d in rendered
        if d["kind"] == "ConfigMap"
        for key, text in d.get("data", {}).items()
        if key.endswith(".yaml")
    ]
    assert {t["kind"] for t in templates} == {"Pod"} and len(templates) == 2
    for t in templates:
        t.setdefault("metadata", {}).setdefault("name", "template")
        _validate(t, version)


def test_validation_really_rejects_a_typo(rendered):
    """Guard against a validator that passes everything: a misspelt field must fail."""
    bad = yaml.safe_load(yaml.safe_dump(find(rendered, "Deployment", "minio")))
    bad["spec"]["template"]["spec"]["containers"][0]["imagee"] = bad["spec"]["template"]["spec"]["containers"][0].pop(
        "image"
    )
    with pytest.raises(AssertionError, match="imagee"):
        _validate(bad, K8S_VERSIONS[-1])

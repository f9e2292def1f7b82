from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixtures._services import require_service
from include.common.errors import InputError
from include.common.git import commit_files
from include.gitops import demo
from include.gitops.render import RenderError, detect_source, parse_manifests, render_dir, render_revision
from include.gitops.types import ResourceKey

MANIFESTS = Path(__file__).resolve().parents[3] / "include" / "demo" / "manifests"


def test_detect_source() -> None:
    assert detect_source(MANIFESTS / "apps/shop/overlays/dev") == "kustomize"
    assert detect_source(MANIFESTS / "charts/greeter") == "helm"
    assert detect_source(MANIFESTS / "platform") == "plain"


def test_plain_yaml() -> None:
    rendered = render_dir(MANIFESTS / "platform")
    assert rendered.source_type == "plain"
    assert sorted(ResourceKey.of(o).display for o in rendered.objects) == ["ConfigMap platform/platform-info", "Namespace platform"]


def test_kustomize_overlays_differ() -> None:
    dev = {ResourceKey.of(o): o for o in render_dir(MANIFESTS / "apps/shop/overlays/dev").objects}
    prod = {ResourceKey.of(o): o for o in render_dir(MANIFESTS / "apps/shop/overlays/prod").objects}
    web_dev = dev[ResourceKey("apps", "Deployment", "shop-dev", "shop-web")]
    web_prod = prod[ResourceKey("apps", "Deployment", "shop-prod", "shop-web")]
    assert (web_dev["spec"]["replicas"], web_prod["spec"]["replicas"]) == (1, 3)
    kinds = {k.kind for k in dev}
    assert {"Namespace", "CustomResourceDefinition", "Widget", "ConfigMap", "Secret", "Deployment", "Service", "Job"} <= kinds


def test_kustomize_error_carries_stderr(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n- does-not-exist.yaml\n")
    with pytest.raises(RenderError, match="does-not-exist.yaml"):
        render_dir(tmp_path)


def test_helm_template() -> None:
    if not shutil.which("helm") and not (Path(__import__("os").environ["DELIVERY_TOOLS"]) / "bin" / "helm").exists():
        require_service("helm", "the Helm example cannot be rendered without the helm binary",
                        "run scripts/setup.d/30-k8s.sh (builds helm into $DELIVERY_TOOLS/bin)")
    rendered = render_dir(MANIFESTS / "charts/greeter", release="hello", namespace="greet")
    names = sorted(ResourceKey.of(o).display for o in rendered.objects)
    assert names == ["ConfigMap hello-greeter", "Deployment.apps hello-greeter", "Service hello-greeter"]
    cm = next(o for o in rendered.objects if o["kind"] == "ConfigMap")
    assert cm["data"]["GREETING"] == "hello from helm"


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(RenderError, match=r"manifest bad.yaml: is not valid YAML at line \d+"):
        render_dir(tmp_path)
    with pytest.raises(RenderError, match="not a Kubernetes object"):
        parse_manifests("- a\n- b\n", "list.yaml")


def test_list_kind_is_expanded_and_empty_docs_skipped() -> None:
    objs = parse_manifests("---\n---\nkind: List\napiVersion: v1\nitems:\n- {kind: A}\n- {kind: B}\n", "x")
    assert [o["kind"] for o in objs] == ["A", "B"]


def test_render_exact_revision() -> None:
    info = demo.seed()
    first = render_revision(info["repo_url"], info["sha"], "platform", Path(info["repo_url"][7:]).parent / "w1")
    new_sha = commit_files(info["repo_url"], "main", {"platform/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: platform}\n"}, "add extra")
    try:
        old = render_revision(info["repo_url"], info["sha"], "platform", Path(info["repo_url"][7:]).parent / "w2")
        new = render_revision(info["repo_url"], "main", "platform", Path(info["repo_url"][7:]).parent / "w3")
        assert old.sha == first.sha == info["sha"] and new.sha == new_sha
        assert len(old.objects) == 2 and len(new.objects) == 3
    finally:
        commit_files(info["repo_url"], "main", {"platform/extra.yaml": None}, "remove extra")


def test_path_outside_repo_is_refused() -> None:
    info = demo.seed()
    with pytest.raises(InputError, match="outside the repository"):
        render_revision(info["repo_url"], "main", "../..", Path(info["repo_url"][7:]).parent / "w4")

"""Write-back into the demo Kustomize overlay (include/demo/manifests), rendered with kustomize when present."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from include.common.errors import InputError
from include.links import manifests
from include.links.manifests import ModelRef

DEMO = Path(__file__).resolve().parents[3] / "include" / "demo" / "manifests"
OVERLAY = "apps/shop/overlays/dev"
DIGEST = "sha256:" + "ab" * 32


def reader(files: dict[str, str]):
    def read(path: str) -> str | None:
        return files.get(path)
    return read


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "manifests"
    shutil.copytree(DEMO, dest)
    return dest


def fs_reader(root: Path):
    def read(path: str) -> str | None:
        p = root / path
        return p.read_text() if p.exists() else None
    return read


def apply(root: Path, changes: dict[str, str]) -> None:
    for rel, text in changes.items():
        (root / rel).write_text(text)


def render(root: Path) -> list[dict]:
    kustomize = shutil.which("kustomize")
    if not kustomize:
        pytest.skip("kustomize is not on PATH (scripts/setup.d/30-k8s.sh builds it): render check skipped")
    out = subprocess.run([kustomize, "build", str(root / OVERLAY)], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_model_write_back_adds_patches_once_and_reads_back(repo):
    read = fs_reader(repo)
    assert manifests.read_model(read, OVERLAY) is None
    model = ModelRef("delivery-classifier", "3", "models:/delivery-classifier/3", "run-abc")
    changes = manifests.model_changes(read, OVERLAY, model)
    assert set(changes) == {f"{OVERLAY}/kustomization.yaml", f"{OVERLAY}/model-serving.yaml", f"{OVERLAY}/model-rollout.yaml"}
    apply(repo, changes)
    kust = yaml.safe_load((repo / OVERLAY / "kustomization.yaml").read_text())
    assert kust["namespace"] == "shop-dev"  # the rest of the overlay is kept
    assert [p.get("path") for p in kust["patches"]][-2:] == ["model-serving.yaml", "model-rollout.yaml"]
    assert "op: replace" in kust["patches"][0]["patch"]  # the existing JSON patch survives the round trip
    assert manifests.read_model(read, OVERLAY) == {"name": "delivery-classifier", "version": "3",
                                                   "uri": "models:/delivery-classifier/3", "run_id": "run-abc"}
    assert manifests.model_changes(read, OVERLAY, model) == {}, "same model again: nothing to commit"
    newer = manifests.model_changes(read, OVERLAY, ModelRef("delivery-classifier", "4", "models:/delivery-classifier/4"))
    assert set(newer) == {f"{OVERLAY}/model-serving.yaml", f"{OVERLAY}/model-rollout.yaml"}


def test_model_write_back_renders_into_the_configmap_and_rolls_the_deployment(repo):
    apply(repo, manifests.model_changes(fs_reader(repo), OVERLAY, ModelRef("m", "7", "models:/m/7", "r1")))
    docs = {(d["kind"], d["metadata"]["name"]): d for d in render(repo)}
    cm = docs[("ConfigMap", "shop-settings")]
    assert cm["data"]["MODEL_VERSION"] == "7" and cm["data"]["LOG_LEVEL"] == "debug"
    deploy = docs[("Deployment", "shop-web")]
    assert deploy["spec"]["template"]["metadata"]["annotations"][manifests.MODEL_ANNOTATION] == "7"


def test_image_write_back_sets_tag_and_digest(repo):
    read = fs_reader(repo)
    assert manifests.read_image(read, OVERLAY, "nginx") is None
    apply(repo, manifests.image_changes(read, OVERLAY, "nginx", "127.0.0.1:5000/demo-app", "0a1b2c3d4e5f", DIGEST))
    entry = manifests.read_image(read, OVERLAY, "nginx")
    assert entry == {"name": "nginx", "newName": "127.0.0.1:5000/demo-app", "newTag": "0a1b2c3d4e5f", "digest": DIGEST}
    assert manifests.image_changes(read, OVERLAY, "nginx", "127.0.0.1:5000/demo-app", "0a1b2c3d4e5f", DIGEST) == {}
    assert deployed_images(repo) == [f"127.0.0.1:5000/demo-app:0a1b2c3d4e5f@{DIGEST}"], "the digest pins the image"
    apply(repo, manifests.image_changes(read, OVERLAY, "nginx", "127.0.0.1:5000/demo-app", "1.2.0", None))
    assert manifests.read_image(read, OVERLAY, "nginx") == {"name": "nginx", "newName": "127.0.0.1:5000/demo-app",
                                                            "newTag": "1.2.0"}
    assert deployed_images(repo) == ["127.0.0.1:5000/demo-app:1.2.0"]


def deployed_images(root: Path) -> list[str]:
    """The container images of the rendered Deployments."""
    return [c["image"] for d in render(root) if d["kind"] == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]]


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("nginx", "127.0.0.1:5000/app; rm -rf /", "1.0.0", None), "image"),
        (("nginx", "127.0.0.1:5000/app", "1.0 0", None), "tag"),
        (("nginx", "127.0.0.1:5000/app", "$(id)", None), "tag"),
        (("nginx", "127.0.0.1:5000/app", None, "sha256:xyz"), "digest"),
        (("nginx", "127.0.0.1:5000/app", None, None), "image"),
    ],
)
def test_bad_image_input_is_refused_before_any_write(repo, args, what):
    with pytest.raises(InputError) as err:
        manifests.image_changes(fs_reader(repo), OVERLAY, *args)
    assert err.value.what == what


@pytest.mark.parametrize("overlay", ["../etc", "/abs/path", "apps/../..", "apps/shop overlays", ""])
def test_bad_overlay_path_is_refused(overlay):
    with pytest.raises(InputError):
        manifests.validate_overlay(overlay)


def test_missing_kustomization_says_what_to_do():
    with pytest.raises(InputError, match="Kustomize overlay"):
        manifests.model_changes(reader({}), "apps/none", ModelRef("m", "1", "models:/m/1"))


def test_non_numeric_model_version_is_refused():
    with pytest.raises(InputError, match="registry version"):
        manifests.model_changes(reader({}), OVERLAY, ModelRef("m", "latest", "models:/m/latest"))

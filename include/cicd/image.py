"""The ``image`` stage: build the app's Dockerfile into an OCI image, push it, verify the digest.

Daemonless here: buildah with vfs storage and chroot isolation (the same settings as
scripts/image/env.sh, so the base image made by setup is visible). The image is BUILT before
the gate (a local, reversible step) and PUSHED only after the gate passed. The digest to trust
is the one buildah pushed (``--digestfile``); it must equal the registry's manifest digest.

When no builder is usable the stage result is ``not_built`` with the missing builder named;
the policy decides whether that fails the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from include.common.errors import InputError
from include.common.paths import tools_dir
from include.cicd.proc import clean_env, run
from include.cicd.results import Status, result
from include.common.reports import write_report

DEFAULT_REGISTRY = "http://127.0.0.1:5000"
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


def image_home() -> Path:
    return Path(os.environ.get("DELIVERY_IMAGE_HOME") or tools_dir() / "image")


def base_image() -> str:
    return os.environ.get("DELIVERY_BASE_IMAGE", "localhost/delivery-base:bookworm")


def buildah_env() -> dict[str, str]:
    home = image_home()
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return clean_env({"STORAGE_DRIVER": "vfs", "BUILDAH_ISOLATION": "chroot", "TMPDIR": str(home / "tmp")})


def buildah_args() -> list[str]:
    home = image_home()
    return ["buildah", "--root", str(home / "storage"), "--runroot", str(home / "run"), "--storage-driver", "vfs"]


def registry_host(url: str) -> str:
    """``http://127.0.0.1:5000`` -> ``127.0.0.1:5000`` (the form image references use)."""
    m = re.fullmatch(r"(https?)://([A-Za-z0-9.-]+(?::\d+)?)/?", url)
    if not m:
        raise InputError("registry", f"{url!r} is not an http(s)://host[:port] URL", "use e.g. http://127.0.0.1:5000")
    return m.group(2)


def registry_reachable(url: str, timeout: float = 3) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/v2/", timeout=timeout) as resp:  # noqa: S310 - http(s) only
            return True, f"registry answers {resp.status}"
    except urllib.error.HTTPError as exc:
        return False, f"registry at {url} answered {exc.code} (needs login? this pipeline pushes without credentials)"
    except OSError as exc:
        return False, f"no registry answers at {url} ({exc})"


def manifest_digest(url: str, name: str, reference: str, timeout: float = 10) -> str | None:
    """The registry's digest for ``name:reference`` (Docker-Content-Digest of the manifest), None if absent."""
    req = urllib.request.Request(f"{url.rstrip('/')}/v2/{name}/manifests/{reference}", method="HEAD",
                                 headers={"Accept": MANIFEST_TYPES})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def list_tags(url: str, name: str, timeout: float = 10) -> list[str]:
    """Tags of ``name`` in the registry ([] when the repository does not exist)."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/v2/{name}/tags/list", timeout=timeout) as resp:  # noqa: S310
            return sorted(json.loads(resp.read()).get("tags") or [])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise


def detect_builder() -> tuple[str | None, str]:
    """("buildah", why) when the daemonless builder is usable here, else (None, what is missing)."""
    if not shutil.which("buildah"):
        docker = Path("/var/run/docker.sock").exists()
        return None, ("no image builder: buildah is not installed (scripts/setup.d/40-image-tools.sh installs it as root)"
                      + ("" if not docker else "; a Docker socket exists but the docker builder is not wired here"))
    if os.geteuid() != 0:
        return None, "no image builder: buildah needs root here (rootless needs user namespaces this machine lacks)"
    probe = run([*buildah_args(), "inspect", "--type", "image", base_image()], env=buildah_env(), timeout=60)
    if probe.returncode != 0:
        return None, (f"no base image {base_image()} in {image_home() / 'storage'}: run scripts/setup.d/40-image-tools.sh "
                      "(debootstrap + import)")
    return "buildah", "buildah (daemonless, vfs storage, chroot isolation)"


def local_ref(image: str, tag: str) -> str:
    return f"localhost/{image}:{tag}"


def build_args(checkout: Path) -> dict[str, str]:
    """``BASE_IMAGE`` for a Dockerfile that declares ``ARG BASE_IMAGE`` (the demo app does).

    Here the base is the debootstrapped local image; in the compose stack DELIVERY_BASE_IMAGE
    names a pullable one.
    """
    dockerfile = checkout / "Dockerfile"
    if dockerfile.exists() and re.search(r"^\s*ARG\s+BASE_IMAGE\b", dockerfile.read_text(), re.MULTILINE):
        return {"BASE_IMAGE": base_image()}
    return {}


def build_image(checkout: Path, image: str, tag: str, report: Path, registry: str) -> dict:
    """Build (not push) ``image:tag`` from the checkout's Dockerfile."""
    if not (checkout / "Dockerfile").exists():
        return result("image", Status.FAILED, "the repository has no Dockerfile at its root")
    builder, why = detect_builder()
    if builder is None:
        return result("image", Status.NOT_BUILT, f"image: not built ({why})", builder=None)
    ok, reach = registry_reachable(registry)
    if not ok:
        return result("image", Status.FAILED, f"image not buildable for push: {reach}; start it with scripts/image/registry.sh",
                      builder=builder)
    ref = local_ref(image, tag)
    # The tag is the commit: an image already built for it (and kept because it was pushed) is reused.
    have = run([*buildah_args(), "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref], env=buildah_env(),
               timeout=60)
    if have.returncode == 0:
        return result("image", Status.OK, f"reused {ref} built earlier for this commit", builder=builder, local_ref=ref,
                      image_id=have.stdout.strip(), tag=tag, cached=True, seconds=round(have.seconds, 2))
    args = [f"--build-arg={k}={v}" for k, v in build_args(checkout).items()]
    proc = run([*buildah_args(), "bud", "--quiet", "--layers=false", "--pull=never", "--isolation", "chroot",
                *args, "-f", "Dockerfile", "-t", ref, "."], cwd=checkout, env=buildah_env(), timeout=900)
    write_report(report, "image-build.log", proc.stdout + "\n" + proc.stderr)
    if proc.returncode != 0:
        return result("image", Status.FAILED, f"buildah bud failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}",
                      builder=builder, files={"log": "image-build.log"})
    image_id = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    return result("image", Status.OK, f"built {ref} with {builder} in {proc.seconds:.1f} s", builder=builder,
                  local_ref=ref, image_id=image_id, tag=tag, seconds=round(proc.seconds, 2),
                  files={"log": "image-build.log"})


def push_image(local: str, image: str, tag: str, registry: str, work: Path) -> dict:
    """Push the built image and return {reference, digest, registry_digest, verified}."""
    host = registry_host(registry)
    dest = f"{host}/{image}:{tag}"
    digestfile = work / "digest.txt"
    digestfile.unlink(missing_ok=True)
    proc = run([*buildah_args(), "push", "--quiet", "--tls-verify=false", "--digestfile", str(digestfile), local,
                f"docker://{dest}"], env=buildah_env(), timeout=900)
    if proc.returncode != 0 or not digestfile.exists():
        raise RuntimeError(f"buildah push to {dest} failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    pushed = digestfile.read_text().strip()
    return verify_digest(registry, image, tag, pushed) | {"reference": f"{dest}@{pushed}", "seconds": round(proc.seconds, 2)}


def verify_digest(registry: str, image: str, tag: str, pushed: str) -> dict:
    """Compare the pushed digest with the registry's manifest digest (and skopeo's, when installed)."""
    reg = manifest_digest(registry, image, tag)
    checks = {"registry_manifest": reg}
    if shutil.which("skopeo"):
        sk = run(["skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                  f"docker://{registry_host(registry)}/{image}:{tag}"], env=buildah_env(), timeout=120)
        checks["skopeo"] = sk.stdout.strip() if sk.returncode == 0 else None
    bad = {k: v for k, v in checks.items() if v != pushed}
    if bad:
        raise RuntimeError(f"digest mismatch for {image}:{tag}: pushed {pushed}, but {bad}")
    return {"digest": pushed, "registry_digest": reg, "checks": checks, "verified": True}


def remove_local(local: str) -> None:
    run([*buildah_args(), "rmi", local], env=buildah_env(), timeout=120)


def prune_local(image: str, keep_tag: str) -> list[str]:
    """Remove local builds of ``image`` other than ``keep_tag`` (vfs keeps a full copy per image)."""
    out = run([*buildah_args(), "images", "--format", "{{.Name}}:{{.Tag}}"], env=buildah_env(), timeout=60)
    removed = []
    for ref in out.stdout.split():
        name, _, tag = ref.rpartition(":")
        if name == f"localhost/{image}" and tag != keep_tag:
            remove_local(ref)
            removed.append(ref)
    return removed


def default_registry() -> str:
    return os.environ.get("DELIVERY_REGISTRY_URL", DEFAULT_REGISTRY)

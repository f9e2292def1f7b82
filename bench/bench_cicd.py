"""Benchmark of cicd_build_test_scan: a cold and a warm whole-DAG run, time per stage, image stage alone.

    source scripts/env.sh && python bench/bench_cicd.py [--runs-dir DIR]

Cold = a fresh state folder (no app venv, no stage cache, no local image for the commit; uv's
package cache and the scanners venv are warm, as on any developer machine). Warm = the same
commit again in the same state folder. Both runs are whole-DAG dag.test() runs with every stage,
after one throw-away run that pays Airflow's import cost. Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_env(base: Path) -> None:
    os.environ["DELIVERY_STATE"] = str(base / "state")
    os.environ["AIRFLOW_HOME"] = str(base / "airflow")
    os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
    os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")  # the numbers, not the task logs
    for p in (str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests")):
        sys.path.insert(0, p)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)


def timed_run(conf: dict) -> tuple[float, str, dict[str, float]]:
    from dag_runner import get_dag

    dag = get_dag("cicd_build_test_scan")
    start = time.monotonic()
    run = dag.test(run_conf=conf)
    total = time.monotonic() - start
    per_task = {ti.task_id: (ti.end_date - ti.start_date).total_seconds()
                for ti in run.get_task_instances() if ti.start_date and ti.end_date}
    return total, str(run.state), per_task


def image_alone(image: str) -> dict[str, float]:
    """The image stage by itself: cold build (no local image), push + verify, then a warm rebuild."""
    from include.cicd import demo, image as img
    from include.common.git import checkout

    seeded = demo.seed()
    work = Path(tempfile.mkdtemp(prefix="bench-image-"))
    co = checkout(seeded["repo_url"], seeded["sha"], work / "src")
    tag = "bench-" + seeded["sha"][:8]
    img.remove_local(img.local_ref(image, tag))
    out: dict[str, float] = {}
    t = time.monotonic()
    built = img.build_image(co.path, image, tag, work, img.default_registry())
    out["build (cold)"] = time.monotonic() - t
    if built["status"] != "ok":
        print(f"image stage: {built['message']}")
        return out
    t = time.monotonic()
    pushed = img.push_image(built["local_ref"], image, tag, img.default_registry(), work)
    out["push + digest check"] = time.monotonic() - t
    t = time.monotonic()
    img.build_image(co.path, image, tag, work, img.default_registry())
    out["build (warm, reused)"] = time.monotonic() - t
    img.remove_local(built["local_ref"])
    print(f"pushed {pushed['reference']} (verified: {pushed['verified']})")
    return out


def docker_alone(image: str) -> dict[str, float]:
    """The same image through the docker builder (a Docker Engine API: scripts/image/docker-api.sh)."""
    import docker

    from include.cicd import demo, image_docker
    from include.cicd.image import default_registry
    from include.common.git import checkout

    proc = subprocess.run(["bash", str(ROOT / "scripts" / "image" / "docker-api.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"docker builder: skipped ({proc.stderr.strip()[-200:]})")
        return {}
    client = docker.APIClient(base_url=proc.stdout.strip().splitlines()[-1], version="auto", timeout=900)
    seeded = demo.seed()
    work = Path(tempfile.mkdtemp(prefix="bench-docker-"))
    co = checkout(seeded["repo_url"], seeded["sha"], work / "src")
    tag = "bench-docker-" + seeded["sha"][:8]
    image_docker.remove(client, f"localhost/{image}:{tag}")
    out: dict[str, float] = {}
    t = time.monotonic()
    built = image_docker.build(client, co.path, image, tag, work, default_registry())
    out["build (cold)"] = time.monotonic() - t
    if built["status"] != "ok":
        print(f"docker builder: {built['message']}")
        return out
    t = time.monotonic()
    pushed = image_docker.push(client, built["local_ref"], image, tag, default_registry())
    out["push + digest check"] = time.monotonic() - t
    image_docker.remove(client, built["local_ref"])
    print(f"pushed {pushed['reference']} (verified: {pushed['verified']})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", default=None, help="where the throw-away state goes (default: a temp dir)")
    args = parser.parse_args()
    base = Path(args.runs_dir or tempfile.mkdtemp(prefix="bench-cicd-"))
    setup_env(base)
    from include.cicd import demo

    demo.seed()
    conf = {"image": "bench/demo-app"}
    t = time.monotonic()
    timed_run({"revision": "bad;ref"})  # pays the import cost; fails at `prepare` by design
    print(f"warm-up (imports + a refused run): {time.monotonic() - t:.1f} s")
    cold_total, cold_state, cold = timed_run(conf)
    warm_total, warm_state, warm = timed_run(conf)
    order = ["prepare", "checkout", "env", "test", "sast", "secrets", "audit", "sbom", "build", "image_build",
             "gate", "push_image", "publish", "cleanup"]
    print(f"\n{'task':<12} {'cold s':>8} {'warm s':>8}")
    for task in order:
        print(f"{task:<12} {cold.get(task, float('nan')):>8.2f} {warm.get(task, float('nan')):>8.2f}")
    print(f"{'whole DAG':<12} {cold_total:>8.2f} {warm_total:>8.2f}   (states: {cold_state}, {warm_state})")
    print(f"warm speed-up: {cold_total / warm_total:.1f}x (target >= 3x)")
    print("\nimage stage alone:")
    for name, secs in image_alone("bench/demo-app").items():
        print(f"  {name:<22} {secs:6.2f} s")
    print("\nimage stage alone, docker builder (podman's Docker API here):")
    for name, secs in docker_alone("bench/demo-app").items():
        print(f"  {name:<22} {secs:6.2f} s")


if __name__ == "__main__":
    main()

"""Many apps in one run: N apps of 10 resources each, synced by the engine of ``gitops_sync_apps``.

Each app is one ``include.gitops.app_sync.sync_one`` call (what one mapped task runs), 4 at a
time (like 4 Celery workers), against the real API server; the apps come from one ``apps.yaml``
with a directory generator. Prints the run's time and the time per app for 10, 25 and 50 apps.
Airflow's own per-task overhead (scheduling a mapped task: about 1-2 s here,
bench/bench_task_overhead.py) comes on top, divided by the workers.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cluster import open_cluster  # noqa: E402


def manifests_repo(root: Path, apps: int, per_app: int, ns: str) -> str:
    from include.common.git import seed_bare_repo

    src = root / "src"
    for a in range(apps):
        folder = src / "apps" / f"a{a:03d}"
        folder.mkdir(parents=True)
        docs = [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a{a:03d}-cm{i}}}\ndata: {{index: \"{i}\"}}\n"
                for i in range(per_app)]
        (folder / "all.yaml").write_text("---\n".join(docs))
    (src / "apps.yaml").write_text("generators:\n  - git:\n      directories: [{path: apps/*}]\n"
                                   f"    template: {{name: \"{ns}-{{{{path.basename}}}}\", namespace: {ns}}}\n")
    seed_bare_repo(src, root / "repo.git", "apps")
    return f"file://{root / 'repo.git'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,25,50")
    parser.add_argument("--per-app", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--kubeconfig", default=None)
    args = parser.parse_args()
    cluster, close = open_cluster(args.kubeconfig, "bench_many_apps")
    if cluster is None:
        return 2
    import os

    from include.gitops.app_sync import declared_apps, sync_one

    namespaces = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["DELIVERY_STATE"] = tmp  # the apps' histories stay out of the real state folder
            print(f"{'apps':>5} {'run s':>8} {'s per app':>10} {'resources':>10}")
            for count in (int(c) for c in args.counts.split(",")):
                ns = f"many-{secrets.token_hex(3)}"
                namespaces.append(ns)
                cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
                root = Path(tmp) / ns
                url = manifests_repo(root, count, args.per_app, ns)
                t0 = time.perf_counter()
                sha, apps = declared_apps(url, "main", root / "list")
                with ThreadPoolExecutor(args.workers) as pool:
                    results = list(pool.map(lambda app: sync_one(cluster, app, url, sha, root / "work" / app.name,
                                                                 health_timeout=10, say=lambda _: None), apps))
                took = time.perf_counter() - t0
                assert all(r.result == "Succeeded" for r in results), [r for r in results if r.result != "Succeeded"]
                print(f"{count:>5} {took:>8.1f} {took / count:>10.2f} {count * args.per_app:>10}")
        return 0
    finally:
        for ns in namespaces:
            cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        close()


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: drift check of N live resources with the server's semantics, fast pass against per-object dry-runs.

    python bench/bench_drift.py [--count 2000] [--runs 5] [--sample 200] [--kubeconfig PATH]

* **fast pass** (what gitops_drift_check runs: ``compute_diff(server_side=False)``): one paged
  LIST per kind, the local diff with our manager's managedFields and the schema rules, then a
  dry-run only of the objects it finds OutOfSync;
* **per-object dry-run** (``compute_diff(server_side=True)``'s way): one server-side dry-run
  apply per object, 4 at a time, each compared in full. Measured on ``--sample`` objects and
  extrapolated to N (the output says so), plus the same LISTs.

The objects are ConfigMaps and Deployments (replicas 0, so no pods on a cluster with
controllers). Before the check other actors act: 1 % drift (a value edited by hand, a key
removed from Git that we own, an image edited), and 1 % changes without drift (a sidecar or an
env var added by another manager); every Deployment's quantities are rewritten by the server.
Then every case of tests/include/gitops/testdata/drift runs, and the fast verdicts that differ
from the dry-run's are counted. Targets: fast pass <= 3 s for 2,000, >= 10x faster than the
per-object dry-run, 0 disagreements. Numbers are medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._cluster import open_cluster  # noqa: E402
from include.gitops import sync  # noqa: E402
from include.gitops.client import Cluster  # noqa: E402
from include.gitops.diff import diff_app  # noqa: E402
from include.gitops.types import ResourceKey, SyncStatus  # noqa: E402


def fidelity_module():
    """The drift fixtures' runner, shared with tests/include/gitops/test_drift_fidelity.py."""
    path = ROOT / "tests" / "include" / "gitops" / "test_drift_fidelity.py"
    spec = importlib.util.spec_from_file_location("drift_fidelity", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["drift_fidelity"] = module
    spec.loader.exec_module(module)
    return module


def objects(count: int, ns: str) -> list[dict]:
    out = []
    for i in range(count):
        if i % 5 < 3:  # 60 % ConfigMaps
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:05d}", "namespace": ns},
                        "data": {"index": str(i), "color": "blue", "payload": "x" * 200}})
        else:
            out.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"web-{i:05d}", "namespace": ns},
                        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": f"web-{i:05d}"}},
                                 "template": {"metadata": {"labels": {"app": f"web-{i:05d}"}}, "spec": {"containers": [{
                                     "name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                                     "env": [{"name": "COLOR", "value": "blue"}],
                                     "resources": {"limits": {"cpu": 0.2, "memory": "1024Mi"},
                                                   "requests": {"cpu": "0.1", "memory": "0.5Gi"}}}]}}}})
    return out


def act(cluster: Cluster, desired: list[dict]) -> tuple[list[dict], set[ResourceKey], set[ResourceKey]]:
    """Other actors change the live objects; returns (Git now, the keys that drifted, the keys
    changed without drift)."""
    cms = [o for o in desired if o["kind"] == "ConfigMap"]
    deps = [o for o in desired if o["kind"] == "Deployment"]
    # 1 % drift in all (a third each way) and 1 % changed without drift, as in bench_gitops.py
    step, benign = max(1, len(desired) // 300), max(1, len(desired) // 200)

    def patch(obj: dict, body: dict, manager: str, kind: str = "application/strategic-merge-patch+json") -> None:
        cluster.request("PATCH", cluster.object_path(obj), query=[("fieldManager", manager)], body=body, content_type=kind)

    drifted: set[ResourceKey] = set()
    for obj in cms[0:step]:  # a value edited by hand
        patch(obj, {"data": {"color": "red"}}, "kubectl-edit", "application/merge-patch+json")
        drifted.add(ResourceKey.of(obj))
    removed = {ResourceKey.of(o) for o in cms[step:2 * step]}  # Git drops a key that we applied
    drifted |= removed
    for obj in deps[0:step]:  # an image edited by hand
        patch(obj, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.26"}]}}}}, "kubectl-edit")
        drifted.add(ResourceKey.of(obj))
    kept = {ResourceKey.of(o) for o in deps[step:step + 2 * benign]}
    for obj in deps[step:step + benign]:  # a sidecar injected: not drift
        patch(obj, {"spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy:1.31"}]}}}}, "mesh-injector")
    for obj in deps[step + benign:step + 2 * benign]:  # an env var added by another manager: not drift
        patch(obj, {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "TRACE", "value": "1"}]}]}}}},
              "platform-team")
    git = []
    for obj in desired:
        if ResourceKey.of(obj) in removed:
            obj = {**obj, "data": {k: v for k, v in obj["data"].items() if k != "payload"}}
        git.append(obj)
    return git, drifted, kept


def drift_keys(result) -> set[ResourceKey]:
    return {r.key for r in result.resources if r.status != SyncStatus.SYNCED}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", type=int, default=200, help="objects dry-run one by one (then extrapolated)")
    parser.add_argument("--kubeconfig", default=None)
    args = parser.parse_args()

    cluster, close = open_cluster(args.kubeconfig, "bench_drift")
    if cluster is None:
        return 2
    app = f"drift-{secrets.token_hex(3)}"
    ns = app
    namespaces = [ns]
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    try:
        desired = sync.prepare(objects(args.count, ns), app=app, namespace=ns, kinds=cluster.kinds())
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda o: cluster.apply(o, force=True), desired))
        git, expected, kept = act(cluster, desired)
        print(f"setup: {args.count} objects applied in {time.perf_counter() - t0:.1f}s; "
              f"{len(expected)} drifted, {2 * max(1, args.count // 200)} changed by other managers without drift, "
              f"{sum(o['kind'] == 'Deployment' for o in git)} Deployments with quantities the server rewrote")

        # fast pass, as the drift DAG runs it (dry-runs only its suspects)
        fast_times, local_times = [], []
        for _ in range(args.runs):
            cluster.requests = 0
            t0 = time.perf_counter()
            fast = sync.compute_diff(cluster, app, git, server_side=False)
            fast_times.append(time.perf_counter() - t0)
            fast_requests = cluster.requests
            t0 = time.perf_counter()
            local = diff_app(app, git, fast.live, owned=fast.owned)  # the local diff alone, on the same LISTs
            local_times.append(time.perf_counter() - t0)
        fast_drift = drift_keys(fast.diff)
        local_drift = drift_keys(local)

        # per-object dry-run on a sample: every object another actor touched, then random ones
        touched = expected | kept
        rest = [o for o in git if ResourceKey.of(o) not in touched]
        sample = [o for o in git if ResourceKey.of(o) in touched]
        sample += random.Random(7).sample(rest, max(0, min(len(rest), args.sample - len(sample))))
        dry_times = []
        list_time = statistics.median(fast_times) - statistics.median(local_times)
        for _ in range(max(1, args.runs // 2)):
            t0 = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                predicted = dict(pool.map(lambda o: (ResourceKey.of(o), cluster.apply(o, force=True, dry_run=True)), sample))
            dry = diff_app(app, sample, fast.live, predicted=predicted)
            dry_times.append(time.perf_counter() - t0)
        dry_drift = drift_keys(dry)
        t_fast, t_local, t_sample = statistics.median(fast_times), statistics.median(local_times), statistics.median(dry_times)
        t_dry = t_sample * len(git) / len(sample) + max(0.0, list_time)
        sampled = {ResourceKey.of(o) for o in sample}

        print(f"{'method':<44}{'seconds':>9}{'speed-up':>10}")
        print(f"{'fast pass (LIST + local diff + suspects)':<44}{t_fast:>9.2f}{'1.0x':>10}   {fast_requests} requests")
        print(f"{'  of which the local diff of every object':<44}{t_local:>9.2f}")
        print(f"{'per-object dry-run, extrapolated':<44}{t_dry:>9.2f}{t_dry / t_fast:>9.1f}x   "
              f"{len(sample)} objects measured in {t_sample:.2f}s, x{len(git) / len(sample):.1f}, plus the LISTs")
        print(f"drift: fast pass {len(fast_drift)}, local diff {len(local_drift)}, expected {len(expected)} of {len(git)}; "
              f"in the sample: dry-run {len(dry_drift)}, fast pass {len(fast_drift & sampled)}")
        assert fast_drift == local_drift == expected, "the fast pass does not find the expected drift"
        assert dry_drift == fast_drift & sampled, "the fast pass and the dry-run disagree on the sample"

        # every drift fixture: fast verdict against the dry-run's
        fidelity = fidelity_module()
        differ, wrong = [], []
        for case in fidelity.CASES:
            case_ns = f"{app}-{len(namespaces)}"
            cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": case_ns}})
            namespaces.append(case_ns)
            result = fidelity.run_case(cluster, case, case_ns)
            if result.fast != result.server:
                differ.append(f"{case}: fast {result.fast}, dry-run {result.server}")
            if result.server != result.expected:
                wrong.append(f"{case}: dry-run {result.server}, fixture {result.expected}")
        print(f"fixtures: {len(fidelity.CASES)} cases, fast verdicts that differ from the dry-run: {len(differ)}")
        for line in differ + wrong:
            print(f"  {line}")
        ok_time, ok_speed, ok_same = t_fast <= 3, t_dry / t_fast >= 10, not differ
        print(f"targets: fast pass <= 3 s: {'met' if ok_time else 'MISSED'}; >= 10x over per-object dry-run: "
              f"{'met' if ok_speed else 'MISSED'}; 0 disagreements: {'met' if ok_same else 'MISSED'}")
        return 0 if ok_same and not wrong else 1
    finally:
        t0 = time.perf_counter()
        for path in (f"/api/v1/namespaces/{ns}/configmaps", f"/apis/apps/v1/namespaces/{ns}/deployments"):
            cluster.request("DELETE", path, query=[("labelSelector", sync.selector(app))])
        for name in namespaces:
            cluster.delete({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        print(f"cleanup: {time.perf_counter() - t0:.1f}s")
        close()


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``python -m scripts.localcluster start|stop|status|env`` (scripts/k8s/start.sh and stop.sh call it)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict

from scripts.localcluster.binaries import has_local_binaries
from scripts.localcluster.control_plane import local_status, start_local, stop_local
from scripts.localcluster.processes import LocalClusterError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.localcluster", description="The local Kubernetes control plane.")
    parser.add_argument("command", choices=["start", "stop", "status", "env", "built"])
    parser.add_argument("--state", help="state folder (default: $DELIVERY_STATE/k8s)")
    parser.add_argument("--no-controllers", action="store_true", help="API server and etcd only")
    parser.add_argument("--wipe", action="store_true", help="with stop: delete data, certificates and logs")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            began = time.monotonic()
            path = start_local(state=args.state, controllers=False if args.no_controllers else None,
                               timeout=args.timeout)
            cluster = local_status(args.state)
            names = ", ".join(c.name for c in cluster.components) if cluster else "?"
            print(f"local control plane ready at {cluster.server if cluster else '?'} ({names}) in "
                  f"{time.monotonic() - began:.1f}s", file=sys.stderr)
            print(path)
        elif args.command == "stop":
            print(stop_local(state=args.state, wipe=args.wipe))
        elif args.command == "status":
            cluster = local_status(args.state)
            if cluster is None:
                print("local control plane: not running", file=sys.stderr)
                return 1
            print(json.dumps(asdict(cluster), indent=2))
        elif args.command == "env":
            cluster = local_status(args.state)
            if cluster is None:
                print("local control plane: not running (start it: bash scripts/k8s/start.sh)", file=sys.stderr)
                return 1
            print(f"export KUBECONFIG={cluster.kubeconfig}\nexport KUBEBUILDER_ASSETS={cluster.assets}")
        else:  # built: exit status only, for scripts that start it when it is built
            return 0 if has_local_binaries() else 1
    except LocalClusterError as exc:
        print(f"local control plane: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

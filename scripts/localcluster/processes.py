"""Processes of the local control plane: free ports, spawn, wait until ready, stop."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class LocalClusterError(RuntimeError):
    """The local control plane could not start (the message carries the component's log tail)."""


@dataclass
class Component:
    """One running process of the local control plane."""

    name: str
    pid: int
    binary: str
    log: str
    port: int | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (TIME_WAIT leftovers do not count: the
    servers set SO_REUSEADDR, as this probe does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stable_ports(root: Path, names: tuple[str, ...]) -> dict[str, int]:
    """Free loopback ports, the same ones as last time when they are still free (a stable
    kubeconfig across restarts)."""
    saved_file = root / "ports.json"
    saved = json.loads(saved_file.read_text()) if saved_file.exists() else {}
    ports: dict[str, int] = {}
    for name in names:
        port = saved.get(name)
        if not (port and port not in ports.values() and port_free(port)):
            port = free_port()
            while port in ports.values():
                port = free_port()
        ports[name] = port
    saved_file.write_text(json.dumps(ports, indent=2))
    return ports



CHILDREN: dict[int, subprocess.Popen] = {}


def alive(pid: int, binary: str | None = None) -> bool:
    """True when pid runs (not a zombie) and, if given, runs that binary (pids get reused)."""
    child = CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
        if binary:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            return argv0 == binary
    except (OSError, IndexError):
        return False
    return True


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(content[-lines:])


def spawn(name: str, binary: Path, args: list[str], logs: Path, port: int | None = None) -> Component:
    log = logs / f"{name}.log"
    with open(log, "ab") as handle:
        handle.write(f"\n--- {dt.datetime.now(dt.timezone.utc).isoformat()} {binary} {' '.join(args)}\n".encode())
        handle.flush()
        # A new session: the control plane outlives the Python process that started it (the demo
        # starts it once), and stop_local() ends each process by its recorded pid.
        child = subprocess.Popen(
            [str(binary), *args], stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )
    CHILDREN[child.pid] = child
    return Component(name=name, pid=child.pid, binary=str(binary), log=str(log), port=port)


def wait_ready(component: Component, ready, what: str, deadline: float) -> None:
    """Poll ready() until True; raise with the log tail when the process died or time ran out."""
    last = ""
    while time.monotonic() < deadline:
        if not alive(component.pid):
            raise LocalClusterError(
                f"{component.name} exited while starting ({what}). Last lines of {component.log}:\n"
                f"{log_tail(Path(component.log))}"
            )
        try:
            ok, last = ready()
            if ok:
                return
        except Exception as exc:  # not listening yet
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.25)
    raise LocalClusterError(
        f"{component.name} was not ready in time ({what}; last answer: {last}). Last lines of {component.log}:\n"
        f"{log_tail(Path(component.log))}"
    )



def stop_components(components: list[Component], timeout: float = 15.0) -> None:
    for comp in reversed(components):  # kwok, scheduler, controller-manager, apiserver, etcd
        if alive(comp.pid, comp.binary):
            with contextlib.suppress(ProcessLookupError):
                os.kill(comp.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while alive(comp.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(comp.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(comp.pid, signal.SIGKILL)
                time.sleep(0.2)
        child = CHILDREN.pop(comp.pid, None)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)


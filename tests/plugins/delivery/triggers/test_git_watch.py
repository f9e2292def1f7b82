"""GitWatchTrigger against real Git repos (file:// and the smart-HTTP server of the stack).

Each test runs the trigger's endless ``run()`` on an event loop for as long as its scenario
needs, pushes commits from a thread, and then stops it, as the triggerer does on shutdown.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from delivery.triggers.git_watch import GitWatchTrigger
from include.common.git import commit_files, run_git, seed_bare_repo
from include.gitops.git_watch import last_seen
from include.links.trace import commit_message

POLL = 0.3
APPS_YAML = """apps:
  - {name: shop, path: apps/shop/overlays/dev, automated: true}
  - {name: shop-prod, path: apps/shop/overlays/prod}
  - {name: cart, path: apps/cart, automated: true}
"""
TREE = {
    "apps.yaml": APPS_YAML,
    "apps/shop/base/kustomization.yaml": "resources: [cm.yaml]\n",
    "apps/shop/base/cm.yaml": "kind: ConfigMap\n",
    "apps/shop/overlays/dev/kustomization.yaml": "resources: [../../base]\n",
    "apps/shop/overlays/prod/kustomization.yaml": "resources: [../../base]\n",
    "apps/cart/cm.yaml": "kind: ConfigMap\n",
}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    return tmp_path / "state"


def seed(bare: Path, src: Path) -> str:
    for rel, text in TREE.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    return seed_bare_repo(src, bare, "manifests")


@pytest.fixture
def repo(tmp_path, state):
    """A manifests repo with three apps: ``(url, head)``."""
    return f"file://{tmp_path / 'manifests.git'}", seed(tmp_path / "manifests.git", tmp_path / "src")


class Log:
    """Stands in for the trigger's logger: the formatted lines, by level."""

    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def info(self, msg, *args):
        self.lines.append(("info", msg % args))

    def warning(self, msg, *args):
        self.lines.append(("warning", msg % args))


def trigger(url: str, **kwargs) -> GitWatchTrigger:
    made = GitWatchTrigger(url, "main", poll_interval=POLL, **kwargs)
    made._log = Log()
    return made


async def until(check, timeout: float = 15.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        await asyncio.sleep(0.05)


def watch(triggers, scenario, timeout: float = 60.0) -> list[dict]:
    """Run ``triggers`` while ``scenario(events)`` runs; the payloads they yielded."""

    async def main():
        events: list[dict] = []

        async def collect(t):
            async for event in t.run():
                events.append(event.payload)

        tasks = [asyncio.create_task(collect(t)) for t in triggers]
        try:
            await scenario(events)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:  # a trigger that ended by itself would stop watching: that is a bug
            assert task.cancelled(), task
        return events

    return asyncio.run(asyncio.wait_for(main(), timeout))


WRITE_BACK = commit_message("shop: image 1.2.3", "", {"dag_id": "gitops_image_update", "dag_run_id": "manual__1"})


def push(url: str, changes: dict[str, str], message: str = "a person's change") -> str:
    return commit_files(url, "main", changes, message)


def push_commits(url: str, commits: list[tuple[dict[str, str], str]], work: Path) -> str:
    """Several commits in one push, so that the watcher sees them in one range."""
    run_git(["clone", "--quiet", "--", url, str(work)])
    for changes, message in commits:
        for rel, text in changes.items():
            (work / rel).write_text(text)
        run_git(["commit", "--quiet", "--all", "-m", message], cwd=work)
    run_git(["push", "--quiet", "origin", "HEAD:refs/heads/main"], cwd=work)
    return run_git(["rev-parse", "HEAD"], cwd=work)


async def baseline(url: str, head: str) -> None:
    await until(lambda: last_seen(url, "main") == head, what="the baseline")


def test_serialize_round_trip():
    made = GitWatchTrigger("http://git:8080/manifests.git", "main", poll_interval=5, max_backoff=120)
    path, kwargs = made.serialize()
    assert path == "delivery.triggers.git_watch.GitWatchTrigger"
    assert GitWatchTrigger(**kwargs).serialize() == (path, kwargs)
    assert set(kwargs) == {"repo_url", "branch", "poll_interval", "max_backoff"}


def test_the_first_start_takes_the_head_as_baseline_and_emits_nothing(repo):
    url, head = repo
    watcher = trigger(url)

    async def scenario(events):
        await baseline(url, head)
        await asyncio.sleep(4 * POLL)

    assert watch([watcher], scenario) == []
    assert any("baseline" in line for _, line in watcher.log.lines)


def test_a_push_emits_one_event_per_changed_automated_app_at_the_exact_sha(repo):
    url, head = repo
    seen = {}

    async def scenario(events):
        await baseline(url, head)
        # the base of shop's overlay: shop (automated) changes, shop-prod (manual) does too, cart does not
        seen["sha"] = await asyncio.to_thread(push, url, {"apps/shop/base/cm.yaml": "kind: ConfigMap\ndata: {a: b}\n"})
        pushed = time.monotonic()
        await until(lambda: events, what="the event")
        seen["after"] = time.monotonic() - pushed
        await asyncio.sleep(4 * POLL)  # and nothing else comes

    events = watch([trigger(url)], scenario)
    assert [(e["app"], e["path"], e["sha"], e["repo_url"]) for e in events] == [
        ("shop", "apps/shop/overlays/dev", seen["sha"], url)]
    assert events[0]["trace"]["source"] == "git_watch" and events[0]["trace"]["previous_sha"] == head
    assert "apps/shop/base/cm.yaml" in events[0]["trace"]["reason"]
    assert seen["after"] < 2 * POLL + 3, f"{seen['after']:.1f} s from the push to the event"


def test_two_apps_in_one_push_and_a_new_automated_app(repo):
    url, head = repo

    async def scenario(events):
        await baseline(url, head)
        await asyncio.to_thread(push, url, {
            "apps/cart/cm.yaml": "kind: ConfigMap\ndata: {x: y}\n",
            "apps/shop/overlays/dev/patch.yaml": "kind: ConfigMap\n",
            "apps.yaml": APPS_YAML + "  - {name: web, path: apps/web, automated: true}\n",
            "apps/web/cm.yaml": "kind: ConfigMap\n"})
        await until(lambda: len(events) >= 3, what="three events")
        await asyncio.sleep(3 * POLL)

    events = watch([trigger(url)], scenario)
    assert sorted(e["app"] for e in events) == ["cart", "shop", "web"]
    assert len({e["sha"] for e in events}) == 1


def test_our_write_backs_are_not_synced_twice(repo, tmp_path):
    url, head = repo
    dev = "apps/shop/overlays/dev/kustomization.yaml"

    async def scenario(events):
        await baseline(url, head)
        # a person's change, then our write-back on top, in one push: the write-back's hand-over syncs both
        wrote = await asyncio.to_thread(push_commits, url, [
            ({"apps/shop/base/cm.yaml": "kind: ConfigMap\ndata: {p: 1}\n"}, "a person's change"),
            ({dev: "resources: [../../base]\nimages: []\n"}, WRITE_BACK)], tmp_path / "work")
        await until(lambda: last_seen(url, "main") == wrote, what="the write-back seen")
        await asyncio.sleep(2 * POLL)
        assert events == []
        # a person's change after a write-back is theirs to sync
        later = await asyncio.to_thread(push, url, {"apps/shop/base/cm.yaml": "kind: ConfigMap\ndata: {p: 2}\n"})
        await until(lambda: events, what="the event for the later change")
        assert [e["sha"] for e in events] == [later]

    watch([trigger(url)], scenario)


def test_a_restarted_watcher_neither_re_emits_nor_misses_a_push_made_while_it_was_down(repo):
    url, head = repo
    first = trigger(url)
    pushed = {}

    async def before_the_restart(events):
        await baseline(url, head)
        pushed["one"] = await asyncio.to_thread(push, url, {"apps/cart/cm.yaml": "kind: ConfigMap\ndata: {n: 1}\n"})
        await until(lambda: events and last_seen(url, "main") == pushed["one"], what="the first event")

    assert [e["sha"] for e in watch([first], before_the_restart)] == [pushed["one"]]
    # stopped: a push lands while no watcher runs
    pushed["two"] = push(url, {"apps/cart/cm.yaml": "kind: ConfigMap\ndata: {n: 2}\n"})
    _, kwargs = first.serialize()
    again = GitWatchTrigger(**kwargs)
    again._log = Log()

    async def after_the_restart(events):
        await until(lambda: events, what="the missed push")
        await asyncio.sleep(4 * POLL)

    assert [(e["app"], e["sha"], e["trace"]["previous_sha"]) for e in watch([again], after_the_restart)] == [
        ("cart", pushed["two"], pushed["one"])]


def test_two_copies_running_at_once_emit_a_push_once(repo):
    url, head = repo

    async def scenario(events):
        await baseline(url, head)
        await asyncio.to_thread(push, url, {"apps/cart/cm.yaml": "kind: ConfigMap\ndata: {twice: no}\n"})
        await until(lambda: events, what="the event")
        await asyncio.sleep(4 * POLL)

    assert len(watch([trigger(url), trigger(url)], scenario)) == 1


def test_a_git_failure_backs_off_and_recovers(repo, tmp_path):
    url, head = repo
    bare, away = tmp_path / "manifests.git", tmp_path / "away.git"
    watcher = trigger(url, max_backoff=4 * POLL)

    def warnings():
        return [line for level, line in watcher.log.lines if level == "warning"]

    async def scenario(events):
        await baseline(url, head)
        bare.rename(away)  # the Git server is gone
        await until(lambda: len(warnings()) >= 4, what="four failed looks")
        away.rename(bare)
        sha = await asyncio.to_thread(push, url, {"apps/cart/cm.yaml": "kind: ConfigMap\ndata: {back: yes}\n"})
        await until(lambda: events, timeout=4 * POLL + 10, what="the event after the repo is back")
        assert events[0]["sha"] == sha

    watch([watcher], scenario)
    pauses = [float(line.rsplit("next look in ", 1)[1].split()[0]) for line in warnings()[:4]]
    assert pauses == [2 * POLL, 4 * POLL, 4 * POLL, 4 * POLL], pauses  # doubling, then capped
    assert all(url in line for line in warnings())
    assert any("answers again" in line for _, line in watcher.log.lines)


def test_a_repo_that_does_not_exist_yet_is_waited_for(tmp_path, state):
    url = f"file://{tmp_path / 'later.git'}"
    watcher = trigger(url)

    async def scenario(events):
        await until(lambda: watcher.log.lines and watcher.log.lines[-1][0] == "warning", what="a warning")
        head = await asyncio.to_thread(seed, tmp_path / "later.git", tmp_path / "src")
        await until(lambda: last_seen(url, "main") == head, timeout=30, what="the baseline once the repo exists")

    assert watch([watcher], scenario) == []


def test_a_bad_apps_yaml_waits_for_the_fix_and_then_syncs_what_changed(repo):
    url, head = repo

    async def scenario(events):
        await baseline(url, head)
        await asyncio.to_thread(push, url, {"apps.yaml": APPS_YAML + "  - {name: Bad, path: x}\n",
                                            "apps/cart/cm.yaml": "kind: ConfigMap\ndata: {c: 1}\n"})
        await asyncio.sleep(4 * POLL)
        assert events == [] and last_seen(url, "main") == head  # the baseline stays at the last good head
        fixed = await asyncio.to_thread(push, url, {"apps.yaml": APPS_YAML})
        await until(lambda: events, timeout=30, what="the event after the fix")
        assert [(e["app"], e["sha"]) for e in events] == [("cart", fixed)]

    watch([trigger(url, max_backoff=2 * POLL)], scenario)


@pytest.fixture
def git_server(tmp_path):
    """scripts/stack/git_http.py serving ``tmp_path/served`` on a free port: its base URL."""
    import importlib.util
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from include.common.paths import PROJECT_ROOT

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):  # keep the test output to what fails
            pass

    spec = importlib.util.spec_from_file_location("git_http", PROJECT_ROOT / "scripts" / "stack" / "git_http.py")
    git_http = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(git_http)
    git_http.ROOT = str(tmp_path / "served")
    server = make_server("127.0.0.1", 0, git_http.app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_push_over_http_is_seen(tmp_path, state, git_server):
    url = f"{git_server}/manifests.git"
    head = seed(tmp_path / "served" / "manifests.git", tmp_path / "src")

    async def scenario(events):
        await baseline(url, head)
        sha = await asyncio.to_thread(push, url, {"apps/shop/overlays/dev/kustomization.yaml": "resources: []\n"})
        await until(lambda: events, what="the event over HTTP")
        assert [(e["app"], e["sha"]) for e in events] == [("shop", sha)]

    watch([trigger(url)], scenario)

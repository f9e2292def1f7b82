"""GitOps steps for Airflow: thin adapters from task context to ``include.gitops``.

Each step takes the run's *state* (a small JSON dict that grows as it goes through the DAG:
app, repo, revision, exact SHA, bundle paths, counts) and returns it extended. Files that
people read go into the run's report folder (``report_dir(dag_id, run_id)``):

    rendered.yaml   what Git rendered to          desired.yaml   what will be applied
    diff.json       machine-readable diff          summary.md     readable summary
    sync.json       plan, applied, pruned          health.json    health per resource
    state.json      the run's state                error.json     the step that failed and why

The deferrable health wait is :class:`GitOpsHealthOperator` (trigger in ``delivery.triggers``).
Nothing heavy is imported at module level: DAG files import this module at parse time.
"""

from __future__ import annotations

import functools
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from airflow.sdk import BaseOperator

DEFAULT_APP = "shop"
DEFAULT_PATH = "apps/shop/overlays/dev"


# --------------------------------------------------------------------------- helpers
def run_folder(context: Any) -> Path:
    from include.common.paths import report_dir

    return report_dir(context["ti"].dag_id, context["run_id"])


def _write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    return path


def _save_state(context: Any, state: dict[str, Any]) -> dict[str, Any]:
    _write(run_folder(context), "state.json", state)
    return state


def _clear_error(name: str) -> None:
    from airflow.sdk import get_current_context

    try:
        path = run_folder(get_current_context()) / "error.json"
    except Exception:  # noqa: BLE001 - outside a task (unit tests)
        return
    if path.exists() and json.loads(path.read_text()).get("step") == name:
        path.unlink()


def step(name: str) -> Callable:
    """Decorator: a failing step writes ``error.json`` (step, error) before it re-raises."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            from airflow.sdk import get_current_context
            from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

            from include.common.errors import InputError

            try:
                result = fn(*args, **kwargs)
            except AirflowSkipException:
                raise
            except Exception as exc:
                try:
                    folder = run_folder(get_current_context())
                    if not (folder / "error.json").exists():  # the first failure is the cause
                        _write(folder, "error.json", {"step": name, "error": str(exc), "type": type(exc).__name__})
                except Exception:  # noqa: BLE001 - never hide the real error
                    pass
                if isinstance(exc, InputError):
                    # bad input: retrying cannot help, so fail now (no retries)
                    raise AirflowFailException(f"{name}: {exc}") from exc
                raise
            _clear_error(name)  # a retry of this step succeeded: its earlier failure is history
            return result

        return inner

    return wrap


def _hook(state: dict[str, Any]):
    from delivery.hooks.kubernetes import GitOpsKubernetesHook

    return GitOpsKubernetesHook(
        state.get("kubernetes_conn_id") or GitOpsKubernetesHook.default_conn_name,
        kubeconfig=state.get("kubeconfig") or None,
    )


def _cluster(state: dict[str, Any]):
    """(Cluster or None, hook): None in plan-only mode.

    A configured cluster that does not answer fails the step (``ClusterUnreachableError``, which
    a retry may fix), except on ``dry_run``: a dry run asked for no change, so it plans only and
    says why.
    """
    hook = _hook(state)
    if hook.unreachable and state.get("dry_run"):
        print(f"dry_run=true and {hook.choice.message}: planning only")
        return None, hook
    return hook.get_cluster(), hook


def _load(path: str) -> list[dict[str, Any]]:
    from include.gitops.render import parse_manifests

    return parse_manifests(Path(path).read_text(), Path(path).name)


def _ignore(state: dict[str, Any]):
    from include.gitops.ignore import parse_rules

    return parse_rules(state.get("ignore_differences") or [])


def _history_kinds(app: str, cluster: Any) -> set[tuple[str, str]]:
    """(apiVersion, kind) of everything synced recently, so kinds removed from Git are still
    searched for Extraneous objects."""
    from include.gitops.client import ClusterError
    from include.gitops.history import entries
    from include.gitops.types import ResourceKey

    kinds: set[tuple[str, str]] = set()
    seen: set[tuple[str, str]] = set()
    for entry in entries(app)[-5:]:
        for text in entry.resources:
            key = ResourceKey.parse(text)
            if (key.group, key.kind) in seen:
                continue
            seen.add((key.group, key.kind))
            try:
                rtype = cluster.type_for_key(key)
            except ClusterError:
                continue  # e.g. its CRD is gone too
            kinds.add((rtype.api_version, rtype.kind))
    return kinds


# --------------------------------------------------------------------------- request
def _events_by_asset(context: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    events = context.get("triggering_asset_events") or {}
    try:
        for asset in events:
            out[getattr(asset, "name", str(asset))] = [dict(getattr(e, "extra", None) or {}) for e in events[asset]]
    except Exception:  # noqa: BLE001 - no asset events (manual run, test)
        return {}
    return out


@step("fetch")
def resolve_request(params: dict[str, Any], context: Any) -> dict[str, Any]:
    """Turn params (and, for Asset-triggered runs, the event's extra) into the run's request.

    A run triggered only by ``cluster_drift`` proceeds only when self-heal is on (the param, or
    ``self_heal`` in the drift event). ``rollback`` picks the revision from the sync history.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.common.errors import InputError
    from include.common.git import validate_ref, validate_repo_url
    from include.gitops import demo, history

    request = {
        "app": params.get("app") or DEFAULT_APP,
        "repo_url": params.get("repo_url") or "",
        "path": params.get("path") if params.get("path") is not None else DEFAULT_PATH,
        "revision": params.get("revision") or "main",
        "namespace": params.get("namespace") or "default",
        "prune": bool(params.get("prune", False)),
        "self_heal": bool(params.get("self_heal", False)),
        "dry_run": bool(params.get("dry_run", False)),
        "force": bool(params.get("force", False)),
        "health_timeout": float(params["health_timeout"] if params.get("health_timeout") is not None else 120),
        "progressing_ok": bool(params.get("progressing_ok", False)),
        "wave_timeout": float(params.get("wave_timeout") if params.get("wave_timeout") is not None else 30),
        "ignore_differences": params.get("ignore_differences") or [],
        "kubernetes_conn_id": params.get("kubernetes_conn_id") or "kubernetes_default",
        "kubeconfig": params.get("kubeconfig") or "",
        "rollback": bool(params.get("rollback", False)),
        "triggered_by": "manual",
    }
    events = _events_by_asset(context)
    if events:
        request["triggered_by"] = ", ".join(sorted(events))
        extras = [e for name in ("manifests_changed", "cluster_drift") for e in events.get(name, [])]
        for extra in extras[-1:]:  # the newest event wins
            for key, names in {"app": ("app",), "repo_url": ("repo_url", "repo"), "path": ("path",),
                               "revision": ("commit", "sha", "revision")}.items():
                for name in names:
                    if extra.get(name):
                        request[key] = str(extra[name])
                        break
        if set(events) == {"cluster_drift"}:
            healing = request["self_heal"] or any(e.get("self_heal") for e in events["cluster_drift"])
            if not healing:
                raise AirflowSkipException(
                    f"cluster_drift reported drift for app {request['app']!r}, but self-heal is off: nothing is changed. "
                    "Turn it on with the param self_heal=true (or self_heal=true in gitops_drift_check)."
                )
            request["self_heal"] = True
            # undoing a hand edit means taking back the fields the editor now owns
            request["force"] = True
    if not request["repo_url"]:
        seeded = demo.seed()
        request["repo_url"] = seeded["repo_url"]
        print(f"repo_url not given: using the demo manifests repo {seeded['repo_url']}")
    validate_repo_url(request["repo_url"], "repo_url")
    if request["rollback"]:
        target = history.rollback_target(request["app"])
        print(f"rollback: app {request['app']!r} goes back to sync #{target.id}, revision {target.revision[:12]} "
              f"(synced {target.finished_at})")
        request.update(revision=target.revision, path=target.path or request["path"],
                       repo_url=target.repo_url or request["repo_url"])
    validate_ref(request["revision"], "revision")
    if not isinstance(request["ignore_differences"], list):
        raise InputError("ignore_differences", "must be a list of rules", 'e.g. [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]')
    _ignore(request)  # bad rules fail here, before anything else
    request["started_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    request["report_dir"] = str(run_folder(context))
    return _save_state(context, request)


# --------------------------------------------------------------------------- render
@step("render")
def render(state: dict[str, Any], context: Any) -> dict[str, Any]:
    """Check out the exact revision and render it (plain YAML, Kustomize or Helm)."""
    from include.common.paths import state_dir
    from include.gitops.render import dump_manifests, render_revision

    folder = run_folder(context)
    work = state_dir() / "gitops" / "work" / folder.parent.name / folder.name / "checkout"
    rendered = render_revision(state["repo_url"], state["revision"], state["path"], work,
                               release=state["app"], namespace=state["namespace"])
    bundle = _write(folder, "rendered.yaml", dump_manifests(rendered.objects))
    print(f"rendered {len(rendered.objects)} objects ({rendered.source_type}) from {state['repo_url']} "
          f"{state['path']} at {rendered.sha[:12]} ({state['revision']})")
    return _save_state(context, {**state, "sha": rendered.sha, "source_type": rendered.source_type,
                                 "rendered": str(bundle), "rendered_count": len(rendered.objects)})


# --------------------------------------------------------------------------- validate
@step("validate")
def validate(state: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate the rendered objects (with the cluster's discovery and a dry-run when connected)."""
    from include.gitops import sync
    from include.gitops.render import dump_manifests
    from include.gitops.types import ResourceKey

    cluster, hook = _cluster(state)
    objects = _load(state["rendered"])
    desired = sync.prepare(objects, app=state["app"], namespace=state["namespace"],
                           kinds=cluster.kinds() if cluster else {})
    sync.check(desired, cluster)
    path = _write(run_folder(context), "desired.yaml", dump_manifests(desired))
    mode = hook.choice.mode.value if cluster or hook.plan_only else "plan-only"
    print(f"{len(desired)} objects are valid ({'checked against the cluster: discovery, namespaces, dry-run' if cluster else 'plan-only: offline checks only'})")
    return _save_state(context, {**state, "desired": str(path), "cluster_mode": mode, "cluster_message": hook.choice.message,
                                 "resources": [str(ResourceKey.of(o)) for o in desired]})


# --------------------------------------------------------------------------- diff
def _plan_only_report(state: dict[str, Any], desired: list[dict[str, Any]]) -> dict[str, Any]:
    from include.gitops.plan import build_plan

    plan = build_plan(desired)
    return {"app": state["app"], "status": "Unknown", "mode": "plan-only", "message": state.get("cluster_message", ""),
            "plan": plan.as_dict(), "plan_text": plan.describe(), "resources": []}


def write_diff_report(state: dict[str, Any], context: Any, *, server_side: bool) -> dict[str, Any]:
    """Diff against the cluster (or plan only) and write diff.json + summary.md; return the report."""
    from include.gitops import sync

    cluster, _ = _cluster(state)
    desired = _load(state["desired"])
    folder = run_folder(context)
    header = (f"# {state['app']} at {state.get('sha', '')[:12]} ({state['revision']})\n\n"
              f"- repo: {state['repo_url']}\n- path: {state['path']}\n- cluster: {state.get('cluster_message', '')}\n")
    if cluster is None:
        report = _plan_only_report(state, desired)
        text = (header + "\n**PLAN-ONLY: nothing was compared against a cluster.** " + report["message"]
                + "\n\nWhat a sync would apply, in order:\n\n```\n" + report["plan_text"] + "\n```\n")
    else:
        result = sync.compute_diff(cluster, state["app"], desired, ignore=_ignore(state),
                                   extra_kinds=_history_kinds(state["app"], cluster), server_side=server_side)
        report = {**result.diff.as_dict(), "mode": state.get("cluster_mode", "")}
        parts = [header, "```\n" + result.diff.summary() + "\n```\n"]
        for r in result.diff.resources:
            if r.diff:
                parts.append(f"## {r.status.value}: {r.key.display}\n\n{r.message}\n\n```diff\n{r.diff}\n```\n")
        text = "\n".join(parts)
    report.update(revision=state["revision"], sha=state.get("sha", ""), repo_url=state["repo_url"], path=state["path"],
                  checked_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    _write(folder, "diff.json", report)
    _write(folder, "summary.md", text)
    print(text if len(text) < 20000 else text[:20000] + "\n... (see summary.md)")
    print(f"report: {folder / 'diff.json'} and {folder / 'summary.md'}")
    return report


@step("diff")
def diff(state: dict[str, Any], context: Any) -> dict[str, Any]:
    """Server-side diff (dry-run apply) of every resource; writes diff.json and summary.md."""
    report = write_diff_report(state, context, server_side=True)
    return _save_state(context, {**state, "sync_status": report["status"], "counts": report.get("counts", {})})


# --------------------------------------------------------------------------- gate
def should_apply(state: dict[str, Any]) -> bool:
    """False (stop here) on dry_run or in plan-only mode; says which, loudly."""
    if state.get("cluster_mode") == "plan-only":
        print("=" * 78 + "\nPLAN-ONLY: no cluster, so nothing is applied, pruned or health-checked. "
              + state.get("cluster_message", "") + "\n" + "=" * 78)
        return False
    if state.get("dry_run"):
        print(f"dry_run=true: stopping after the diff ({state.get('sync_status')}); nothing was applied.")
        return False
    return True


# --------------------------------------------------------------------------- apply
@step("apply")
def apply(state: dict[str, Any], context: Any) -> dict[str, Any]:
    """Apply what is not Synced, wave by wave (server-side apply, our field manager)."""
    from include.gitops import sync
    from include.gitops.apply import apply_plan

    cluster, _ = _cluster(state)
    desired = _load(state["desired"])
    result = sync.compute_diff(cluster, state["app"], desired, ignore=_ignore(state),
                               extra_kinds=_history_kinds(state["app"], cluster))
    plan, protected = sync.plan_sync(result, desired, state["app"], prune_enabled=state["prune"])
    print("plan:\n" + plan.describe())

    wave_timeout = float(state.get("wave_timeout") or 0)
    last_step = plan.steps[-1].name if plan.steps else ""

    def progress(step, results) -> None:
        print(f"{step.name}: " + ", ".join(f"{r.key.display} {r.action}" for r in results))
        if wave_timeout <= 0 or step.name == last_step:
            return
        code, statuses = sync.wait_healthy(cluster, [r.key for r in results], timeout=wave_timeout)
        if code.value == "Degraded":
            bad = "; ".join(f"{k.display}: {s.message}" for k, s in statuses.items() if s.code.value == "Degraded")
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{step.name} is Degraded, later waves are not applied: {bad}")
        if code.value != "Healthy":
            waiting = ", ".join(f"{k.display} {s.code.value}" for k, s in statuses.items() if s.code.value != "Healthy")
            print(f"{step.name} is still {code.value} after {wave_timeout:.0f}s ({waiting}); applying the next wave anyway")
        else:
            print(f"{step.name} is Healthy")

    folder = run_folder(context)
    applied = []
    try:
        applied = apply_plan(cluster, plan, force=state["force"], existing=set(result.live), after_step=progress)
    except Exception as exc:
        results = getattr(exc, "results", [])
        _write(folder, "sync.json", {"plan": plan.as_dict(), "applied": [r.as_dict() for r in results], "error": str(exc)})
        failed = [r for r in results if r.action in ("failed", "conflict")]
        if failed and all(r.action == "conflict" or " HTTP 4" in r.message for r in failed):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{exc}\nThe API server refused these objects: retrying cannot help.") from exc
        raise
    _write(folder, "sync.json", {"plan": plan.as_dict(), "applied": [r.as_dict() for r in applied]})
    print(f"applied {len(applied)} resource(s); {len(plan.unchanged)} already Synced")
    return _save_state(context, {**state, "applied": [r.as_dict() for r in applied], "unchanged": len(plan.unchanged)})


# --------------------------------------------------------------------------- prune
@step("prune")
def prune(state: dict[str, Any], context: Any) -> dict[str, Any]:
    """Delete resources we own that left Git (prune=true), else list them; protected ones stay."""
    from include.gitops import prune as pruning
    from include.gitops import sync
    from include.gitops.types import ResourceKey

    cluster, _ = _cluster(state)
    desired = _load(state["desired"])
    kinds = {(o["apiVersion"], o["kind"]) for o in desired} | set(sync.PRUNE_KINDS) | _history_kinds(state["app"], cluster)
    owned = cluster.owned(sync.selector(state["app"]), sorted(kinds))
    to_prune, protected = pruning.candidates(state["app"], owned, {ResourceKey.of(o) for o in desired})
    results = pruning.prune(cluster, to_prune, protected, dry_run=not state["prune"])
    for r in results:
        print(f"{r.action:<12} {r.key.display} {r.message}")
    if not state["prune"] and to_prune:
        print(f"prune=false: {len(to_prune)} Extraneous resource(s) stay in the cluster; sync with prune=true to delete them")
    saved = _save_state(context, {**state, "pruned": [r.as_dict() for r in results]})
    failed = [r for r in results if r.action == "failed"]
    if failed:
        raise RuntimeError(
            f"prune could not delete {len(failed)} resource(s): "
            + "; ".join(f"{r.key.display}: {r.message}" for r in failed)
            + ". They are still in the cluster. Fix the cause (permissions, finalizers), then sync again with prune=true"
        )
    return saved


# --------------------------------------------------------------------------- record
@step("record")
def record(context: Any) -> dict[str, Any]:
    """Append this sync to the app's history (also for failed syncs), then fail if the sync did."""
    from airflow.sdk.exceptions import AirflowException, AirflowSkipException

    from include.gitops import history

    folder = run_folder(context)
    error = json.loads((folder / "error.json").read_text()) if (folder / "error.json").exists() else None
    if not (folder / "state.json").exists():
        if error:
            raise AirflowException(f"sync failed in step {error['step']} before a revision was fetched: {error['error']}")
        raise AirflowSkipException("nothing to record: the run stopped before fetching a revision")
    state = json.loads((folder / "state.json").read_text())
    health = json.loads((folder / "health.json").read_text()) if (folder / "health.json").exists() else {}
    result = history.sync_result(error_step=error["step"] if error else None, health=health.get("health", ""),
                                 waited=health.get("status") not in ("not-waited", "plan-only"))
    entry = history.record(history.HistoryEntry(
        app=state["app"], revision=state.get("sha", ""), result=result, resources=state.get("resources", []),
        repo_url=state["repo_url"], path=state["path"], requested="rollback" if state.get("rollback") else state["revision"],
        started_at=state.get("started_at", ""), run_id=context["run_id"], health=health.get("health", ""),
        message=(f"{error['step']}: {error['error']}" if error else health.get("message", "")),
    ))
    print(f"history #{entry.id}: {entry.result} {entry.revision[:12]} health={entry.health or '-'}")
    if not error and entry.result != "Succeeded":
        print(f"WARNING: {state['app']!r} is {entry.result} (progressing_ok=true keeps the run green); "
              "a rollback never goes back to this revision")
    if error:
        raise AirflowException(f"sync of {state['app']!r} failed in step {error['step']}: {error['error']}")
    return {"app": state["app"], "sha": state.get("sha", ""), "history_id": entry.id, "health": entry.health,
            "report_dir": str(folder)}


# --------------------------------------------------------------------------- health
class GitOpsHealthOperator(BaseOperator):
    """Wait until a synced app is Healthy; deferrable, so no worker slot is held while waiting.

    Healthy ends the task; Degraded fails it; still not Healthy at the timeout fails it too,
    unless ``fail_on_timeout`` is off (the sync's ``progressing_ok`` param): then it is a warning.
    A timeout of 0 means "do not wait": one check, and only Degraded fails. Failing here is final
    (no retry: the wait already gave the app its time) and writes ``error.json`` with step
    ``health``, so ``record`` keeps the health as the sync's result. Writes ``health.json``.

    :param state: the run state from the apply step (templated; an XComArg); gives app,
        resources, health_timeout, kubernetes_conn_id and kubeconfig.
    :param app: app name when no state is given (templated).
    :param resource_ids: resource ids ``group/kind/namespace/name`` when no state is given (templated).
    :param timeout: seconds to wait (default: the state's ``health_timeout``, else 300); 0: do not wait.
    :param poll_interval: seconds between checks.
    :param fail_on_timeout: fail the task when the app is not Healthy in time (default: yes,
        unless the state's ``progressing_ok`` is set).
    :param deferrable: wait in the triggerer, holding no worker slot (default True; Airflow's own
        ``[operators] default_deferrable`` is False, and a health wait must not hold a slot).
    """

    template_fields: Sequence[str] = ("state", "app", "resource_ids")
    ui_color = "#c8e6c9"

    def __init__(
        self,
        *,
        state: Any = None,
        app: str | None = None,
        resource_ids: list[str] | None = None,
        timeout: float | None = None,
        poll_interval: float = 5,
        fail_on_timeout: bool | None = None,
        kubernetes_conn_id: str = "kubernetes_default",
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.app = app
        self.resource_ids = resource_ids
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.fail_on_timeout = fail_on_timeout
        self.kubernetes_conn_id = kubernetes_conn_id
        self.deferrable = deferrable

    def _inputs(self) -> tuple[str, list[str], float, dict[str, Any]]:
        state = dict(self.state or {})
        app = self.app or state.get("app") or ""
        resources = list(self.resource_ids or state.get("resources") or [])
        if self.timeout is not None:
            timeout = float(self.timeout)
        else:
            timeout = float(state["health_timeout"] if state.get("health_timeout") is not None else 300)
        state.setdefault("kubernetes_conn_id", self.kubernetes_conn_id)
        return app, resources, timeout, state

    def _fails_on_timeout(self) -> bool:
        if self.fail_on_timeout is not None:
            return self.fail_on_timeout
        return not (self.state or {}).get("progressing_ok", False)

    def execute(self, context: Any) -> dict[str, Any]:
        from delivery.triggers.gitops_health import GitOpsHealthTrigger

        app, resources, timeout, state = self._inputs()
        hook = _hook(state)
        if hook.unreachable:
            from include.gitops.localcluster import ClusterUnreachableError

            raise ClusterUnreachableError(f"health of {app!r} cannot be checked: {hook.choice.message}")
        if hook.plan_only:
            return self._finish(context, {"status": "plan-only", "health": "Unknown", "message": hook.choice.message,
                                          "resources": {}})
        trigger = GitOpsHealthTrigger(app=app, resources=resources, kubeconfig=hook.choice.kubeconfig,
                                      context=hook.choice.context, timeout=timeout, poll_interval=self.poll_interval)
        first = trigger.check()
        if first["health"] in ("Healthy", "Degraded") or timeout <= 0:
            status = {"Healthy": "healthy", "Degraded": "degraded"}.get(first["health"], "not-waited")
            message = f"app {app!r} is {first['health']}"
            if status == "not-waited":
                message += " (health_timeout is 0: not waiting for Healthy)"
            return self._finish(context, {"status": status, "message": message, **first})
        print(f"app {app!r} is {first['health']}; waiting up to {timeout:.0f}s for Healthy")
        if self.deferrable:
            self.defer(trigger=trigger, method_name="execute_complete")
        return self._poll(context, trigger)

    def _poll(self, context: Any, trigger) -> dict[str, Any]:
        """The non-deferrable wait (``deferrable=False``): same rules, in the worker."""
        while True:
            last = trigger.check()
            if last["health"] == "Healthy":
                return self._finish(context, {"status": "healthy", "message": f"app {trigger.app!r} is Healthy", **last})
            if last["health"] == "Degraded":
                return self._finish(context, {"status": "degraded", "message": f"app {trigger.app!r} is Degraded", **last})
            if trigger.remaining() <= 0:
                return self._finish(context, {"status": "timeout", "message": f"app {trigger.app!r} is still {last['health']}", **last})
            time.sleep(min(trigger.poll_interval, max(trigger.remaining(), 0.1)))

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        return self._finish(context, event)

    def _finish(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        for key, value in sorted((event.get("resources") or {}).items()):
            print(f"{value['status']:<12} {key} {value['message']}")
        folder = run_folder(context)
        _write(folder, "health.json", event)
        failed = event["status"] == "degraded" or (event["status"] == "timeout" and self._fails_on_timeout())
        if failed:
            message = event["message"]
            if event["status"] == "timeout":
                message += (". Fix: see why the rollout does not finish (kubectl describe), raise health_timeout, "
                            "or set progressing_ok=true to accept a rollout still in progress")
            if not (folder / "error.json").exists():
                _write(folder, "error.json", {"step": "health", "error": message, "type": event["status"]})
            raise AirflowFailException(message)
        if event["status"] == "timeout":
            self.log.warning("%s (not failing: progressing_ok is on)", event["message"])
        else:
            self.log.info(event["message"])
        return {"status": event["status"], "health": event.get("health"), "message": event["message"]}

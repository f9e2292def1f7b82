"""Airflow glue of the links: model promotion -> manifests -> sync, and new image -> manifests -> sync.

The logic is in ``include/links`` (manifest edits, image policy, trace ids); Git goes through
``include.common.git`` (``commit_files``: retried on a rejected push, never forced); MLflow through
the MLOps family's ``MlflowHook``; the sync is GitOps's own DAG ``gitops_manifest_sync``,
triggered for the exact commit. This module only reads params, XComs and Asset events and
writes reports. Functions are called from the TaskFlow tasks of ``mlops_promote_to_gitops`` and
``gitops_image_update``; heavy imports stay inside them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable

SYNC_DAG_ID = "gitops_manifest_sync"
DEFAULT_HEALTHY = ("Healthy",)


# --------------------------------------------------------------------------- shared
def fail_fast(func: Callable) -> Callable:
    """Bad input (InputError) fails the task at once: a retry would get the same answer."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from airflow.sdk.exceptions import AirflowFailException

        from include.common.errors import InputError

        try:
            return func(*args, **kwargs)
        except InputError as exc:
            raise AirflowFailException(str(exc)) from exc

    return wrapper


def manifests_target(params: dict[str, Any]) -> dict[str, str]:
    """The manifests repo, branch, overlay path and app of the write-back, validated.

    An empty ``repo_url`` means the demo manifests repo. It is seeded only when it does not exist
    yet: seeding again would reset the write-backs already committed to it.
    """
    from include.common.git import validate_ref, validate_repo_url
    from include.gitops import demo
    from include.links.manifests import validate_overlay

    url = (params.get("repo_url") or "").strip() or demo.seed()["repo_url"]
    return {
        "repo_url": validate_repo_url(url, "repo_url"),
        "branch": validate_ref(params.get("branch") or "main", "branch"),
        "path": validate_overlay(params.get("path") or demo.DEMO_PATH),
        "app": params.get("app") or demo.DEMO_APP,
    }


def _reader(url: str, branch: str) -> tuple[Callable[[str], str | None], str, tempfile.TemporaryDirectory]:
    """A reader of files at the branch's tip (and that tip's SHA). Close the temp dir when done."""
    from include.common.git import checkout

    tmp = tempfile.TemporaryDirectory(prefix="links-")
    co = checkout(url, branch, Path(tmp.name) / "repo")

    def read(rel: str) -> str | None:
        path = co.path / rel
        return path.read_text() if path.is_file() else None

    return read, co.sha, tmp


def _run_ids(context: Any) -> dict[str, str]:
    return {"dag_id": context["dag"].dag_id, "dag_run_id": context["run_id"]}


def sync_run_id(dag_id: str, sha: str, run_id: str) -> str:
    """A readable, unique run id for the triggered sync: ``links__<dag>__<sha12>__<stamp>``."""
    import re

    stamp = re.sub(r"[^0-9A-Za-z]", "", run_id)[-20:]
    return f"links__{dag_id}__{sha[:12]}__{stamp}"


def previous_result(context: Any, name: str) -> dict | None:
    """What an earlier try of this task wrote (so a retry after a push does not skip or push twice)."""
    from include.common.paths import report_dir

    path = report_dir(context["dag"].dag_id, context["run_id"]) / name
    return json.loads(path.read_text()) if path.exists() else None


def write_report(context: Any, name: str, data: dict) -> Path:
    from include.common.paths import report_dir

    folder = report_dir(context["dag"].dag_id, context["run_id"])
    path = folder / name
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


def commit(target: dict, changes: dict[str, str], message: str, read: Callable[[str], str | None]) -> dict:
    """Commit ``changes`` and return what is needed to revert exactly them later."""
    from include.common.git import commit_files

    before = {path: read(path) for path in changes}
    sha = commit_files(target["repo_url"], target["branch"], changes, message)
    return {"sha": sha, "before": before, "after": changes}


def revert(wrote: dict, reason: str, trace: dict) -> tuple[str | None, str]:
    """Put back the files the write-back changed, as a new commit (never a force-push).

    Returns (the revert commit or None when an earlier try already reverted, the commit the
    cluster must be synced to). Refuses when someone changed those files after us: then a
    person must decide.
    """
    from include.common.git import commit_files
    from include.links.trace import commit_message

    read, tip, tmp = _reader(wrote["repo_url"], wrote["branch"])
    try:
        if all(read(p) == text for p, text in wrote["before"].items()):
            print(f"{wrote['sha'][:12]} is already reverted at {tip[:12]}")
            return None, tip  # a retried rollback
        moved = [p for p, text in wrote["after"].items() if read(p) != text]
    finally:
        tmp.cleanup()
    if moved:
        raise RuntimeError(
            f"cannot revert {wrote['sha'][:12]}: {', '.join(moved)} changed after it (tip {tip[:12]}). "
            "Fix: revert by hand in the manifests repo, then run gitops_manifest_sync"
        )
    message = commit_message(
        f"Revert {wrote['subject']}",
        f"This reverts commit {wrote['sha']}.\n\nWhy: {reason}",
        {**trace, "reason": reason, "reverted_commit": wrote["sha"]},
    )
    sha = commit_files(wrote["repo_url"], wrote["branch"], wrote["before"], message)
    return sha, sha or tip


def revert_sync(context: Any, wrote: dict, sha: str) -> dict:
    """What the rollback's own sync applies: the reverted state of the same app, at ``sha``."""
    return {"app": wrote["app"], "repo_url": wrote["repo_url"], "path": wrote["path"], "sha": sha,
            "sync_run_id": sync_run_id(context["dag"].dag_id, sha, context["run_id"] + "revert")}


def sync_conf(wrote: dict, params: dict) -> dict:
    """The conf of the triggered ``gitops_manifest_sync`` run: exactly the commit we pushed."""
    return {
        "app": wrote["app"], "repo_url": wrote["repo_url"], "path": wrote["path"], "revision": wrote["sha"],
        "health_timeout": int(params.get("health_timeout") or 120),
        "kubernetes_conn_id": params.get("kubernetes_conn_id") or "kubernetes_default",
    }


def check_sync(context: Any, wrote: dict, healthy_states: list[str] | tuple[str, ...],
               report: str = "check_health.json") -> dict:
    """Read the triggered sync's result (its ``record`` task's XCom) and demand Synced + healthy.

    ``wrote`` names the commit and the sync run (the write-back, or the rollback's revert sync).
    """
    result = context["ti"].xcom_pull(dag_id=SYNC_DAG_ID, run_id=wrote["sync_run_id"], task_ids="record")
    error = None
    if not result:
        error = f"{SYNC_DAG_ID} run {wrote['sync_run_id']} recorded no result: see its logs"
    elif result.get("sha") and result["sha"] != wrote["sha"]:
        error = f"{SYNC_DAG_ID} synced {result['sha'][:12]}, not our commit {wrote['sha'][:12]}"
    elif (result.get("health") or "Unknown") not in healthy_states:
        error = (f"app {wrote['app']!r} is {result.get('health') or 'Unknown'} after the sync of {wrote['sha'][:12]} "
                 f"(needed: {', '.join(healthy_states)}); report: {result.get('report_dir')}")
    if error:
        from airflow.sdk.exceptions import AirflowFailException

        write_report(context, report, {"error": error, "result": result})
        raise AirflowFailException(error)  # a retry would read the same result
    health = result["health"]
    print(f"{SYNC_DAG_ID} run {wrote['sync_run_id']}: Synced, {health} at {wrote['sha'][:12]}")
    return {**result, "sync_run_id": wrote["sync_run_id"]}


def task_states(context: Any, dag_id: str | None = None, run_id: str | None = None) -> dict[str, str]:
    """{task_id: state} of a DAG run (this one by default), through the Task SDK."""
    ti = context["ti"]
    dag_id, run_id = dag_id or context["dag"].dag_id, run_id or context["run_id"]
    try:
        found = ti.get_task_states(dag_id=dag_id, run_ids=[run_id]) or {}
    except Exception:  # noqa: BLE001 - states only make messages better
        return {}
    states = found.get(run_id, found)
    return {k: str(v) for k, v in states.items()} if isinstance(states, dict) else {}


def failure_reason(context: Any, wrote: dict) -> str:
    """Why the sync or the health check failed, in words, for the revert commit and the model tags."""
    from include.common.paths import report_dir

    mine = task_states(context)
    parts = []
    if mine.get("sync") in ("failed", "upstream_failed"):
        sync = task_states(context, SYNC_DAG_ID, wrote["sync_run_id"])
        failed = sorted(t for t, s in sync.items() if s in ("failed", "upstream_failed"))
        parts.append(f"{SYNC_DAG_ID} run {wrote['sync_run_id']} failed" + (f" in {', '.join(failed)}" if failed else ""))
        record = report_dir(SYNC_DAG_ID, wrote["sync_run_id"]) / "error.json"
        if record.exists():
            try:
                err = json.loads(record.read_text())
                parts.append(f"{err.get('step')}: {err.get('error')}")
            except ValueError:
                pass
    check = report_dir(context["dag"].dag_id, context["run_id"]) / "check_health.json"
    if check.exists():
        parts.append(json.loads(check.read_text()).get("error", ""))
    return "; ".join(p for p in parts if p) or f"sync or health check failed (tasks: {mine})"


# --------------------------------------------------------------------------- model -> manifests
@fail_fast
def read_deployed_model(params: dict, context: Any) -> dict:
    """The model the overlay serves now (the sensor's baseline): {version, name, uri, run_id, repo}."""
    from include.links.manifests import read_model

    model_name, alias = params.get("model_name"), params.get("alias") or "champion"
    for name, events in (context.get("triggering_asset_events") or {}).items():
        for ev in list(events)[-1:]:  # a model_promoted event names the model (and alias) that moved
            extra = dict(getattr(ev, "extra", None) or {})
            if extra.get("model_name"):
                model_name, alias = extra["model_name"], extra.get("alias") or alias
                print(f"triggered by {getattr(name, 'name', name)}: {model_name}@{alias} moved to v{extra.get('version')}")
    target = manifests_target(params)
    read, sha, tmp = _reader(target["repo_url"], target["branch"])
    try:
        deployed = read_model(read, target["path"]) or {"version": None}
    finally:
        tmp.cleanup()
    if deployed.get("version") and deployed.get("name") != model_name:
        print(f"the overlay serves {deployed.get('name')} v{deployed['version']}, not {model_name}: "
              "treated as nothing deployed")
        deployed = {"version": None, "replaces": deployed}
    print(f"deployed in {target['repo_url']}@{sha[:12]}:{target['path']}: {model_name} v{deployed.get('version') or 'none'}")
    return {**deployed, **target, "manifests_sha": sha, "model_name": model_name, "alias": alias}


def _run_lineage(client: Any, run_id: str | None) -> dict[str, str]:
    """Trace ids of the training run (data hash, its DAG run, the HPO study) from its tags."""
    if not run_id:
        return {}
    try:
        tags = client.get_run(run_id).data.tags
    except Exception:  # noqa: BLE001 - lineage is best effort; the version still deploys
        return {}
    picks = {"data_hash": ("delivery.data_sha256", "delivery.data_hash"), "data_path": ("delivery.data_path",),
             "train_dag_run_id": ("delivery.dag_run_id",), "hpo_study": ("delivery.optuna_study", "delivery.study_name"),
             "validation_report": ("delivery.validation_report",), "code_sha": ("delivery.git_sha",)}
    out = {}
    for key, names in picks.items():
        found = next((tags[n] for n in names if tags.get(n)), None)
        if found:
            out[key] = found
    return out


@fail_fast
def write_model(params: dict, event: dict, deployed: dict, context: Any) -> dict:
    """Write the new champion into the overlay, commit and push; tag the model version with the commit."""
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.hooks.mlflow import MlflowHook
    from include.links.manifests import ModelRef, model_changes
    from include.links.trace import commit_message, model_version_tags

    earlier = previous_result(context, "write_back.json")
    if earlier:
        print(f"already committed by an earlier try: {earlier['sha'][:12]}")
        return earlier
    model = event.get("model") or {}
    name, version = model.get("name") or deployed.get("model_name") or params["model_name"], str(event["version"])
    target = manifests_target(params)
    hook = MlflowHook(params.get("mlflow_conn_id") or "mlflow_default")
    client = hook.get_client()
    ref = ModelRef(name=name, version=version, uri=f"models:/{name}/{version}", run_id=model.get("run_id") or "")
    trace = {**_run_ids(context), "model_name": name, "model_version": version,
             "previous_version": deployed.get("version") or "", "mlflow_run_id": ref.run_id, "model_uri": ref.uri,
             **_run_lineage(client, ref.run_id)}
    read, tip, tmp = _reader(target["repo_url"], target["branch"])
    try:
        changes = model_changes(read, target["path"], ref, configmap=params.get("configmap") or "shop-settings",
                                deployment=params.get("deployment") or "shop-web", dag_id=context["dag"].dag_id)
        if not changes:
            raise AirflowSkipException(f"{target['path']} already serves {name} v{version}: nothing to commit or sync")
        subject = f"deploy model {name} v{version} to {target['path']}"
        body = (f"{deployed.get('alias') or params.get('alias') or 'champion'} moved from v{deployed.get('version') or '-'} to v{version}.\n"
                f"Source: {model.get('source') or ref.uri}")
        done = commit(target, changes, commit_message(subject, body, trace), read)
    finally:
        tmp.cleanup()
    if not done["sha"]:
        raise AirflowSkipException("the manifests already hold this model (a concurrent run wrote it): nothing to sync")
    for key, value in model_version_tags({"manifests_commit": done["sha"], "manifests_repo": target["repo_url"],
                                          "manifests_path": target["path"], "deploy_dag_run_id": context["run_id"]}).items():
        client.set_model_version_tag(name, version, key, value)
    wrote = {**target, **done, "subject": subject, "trace": trace, "model_name": name, "model_version": version,
             "previous_version": deployed.get("version"), "parent_sha": tip,
             "sync_run_id": sync_run_id(context["dag"].dag_id, done["sha"], context["run_id"])}
    write_report(context, "write_back.json", wrote)
    print(f"committed {done['sha'][:12]} to {target['repo_url']} ({target['branch']}): {subject}")
    return wrote


def rollback_model(params: dict, context: Any) -> dict:
    """Revert the write-back commit and move the alias back to the deployed version, recording why on both."""
    from delivery.hooks.mlflow import MlflowHook
    from include.links.trace import model_version_tags

    wrote = context["ti"].xcom_pull(task_ids="write_back")
    if not wrote:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("nothing was committed (an earlier step failed): nothing to roll back")
    reason = failure_reason(context, wrote)
    revert_sha, sync_sha = revert(wrote, reason, wrote["trace"])
    client = MlflowHook(params.get("mlflow_conn_id") or "mlflow_default").get_client()
    name, bad, previous = wrote["model_name"], wrote["model_version"], wrote.get("previous_version")
    alias = (context["ti"].xcom_pull(task_ids="read_deployed") or {}).get("alias") or params.get("alias") or "champion"
    tags = {"rollback_reason": reason, "rollback_revert_commit": revert_sha or "", "rollback_dag_run_id": context["run_id"]}
    for key, value in model_version_tags(tags).items():
        client.set_model_version_tag(name, bad, key, value)
    if previous:
        client.set_registered_model_alias(name, alias, str(previous))
        client.set_model_version_tag(name, str(previous), "delivery.restored_by", f"{context['run_id']}: v{bad} rolled back")
        moved = f"{alias} moved back to v{previous}"
    else:
        client.delete_registered_model_alias(name, alias)
        moved = f"{alias} removed (no earlier deployed version to go back to)"
    result = {"reverted": wrote["sha"], "revert_commit": revert_sha, "reason": reason, "alias": moved,
              "sync": revert_sync(context, wrote, sync_sha)}
    write_report(context, "rollback.json", result)
    print(f"rolled back: reverted {wrote['sha'][:12]} with {str(revert_sha)[:12]}; {moved}. Why: {reason}")
    return result


# --------------------------------------------------------------------------- image -> manifests
@fail_fast
def plan_image(params: dict, context: Any) -> dict:
    """Choose the image to deploy from the ``app_image`` events (and the params) under the policy."""
    from airflow.sdk.exceptions import AirflowSkipException

    from include.links.images import Candidate, candidates_from_events, choose
    from include.links.manifests import read_image

    from delivery.assets import app_image

    seen, events = set(), []

    def add(ev: Any) -> None:
        ts = getattr(ev, "timestamp", None)
        extra = dict(getattr(ev, "extra", None) or {})
        key = (extra.get("image"), extra.get("tag"), extra.get("digest"))
        if key not in seen:
            seen.add(key)
            events.append({"extra": extra, "timestamp": ts.isoformat() if ts else ""})

    for asset_events in (context.get("triggering_asset_events") or {}).values():
        for ev in asset_events:
            add(ev)
    try:  # the recent app_image events (the task declares the Asset as an inlet): manual runs see them too
        for ev in list(context["inlet_events"][app_image])[-int(params.get("recent_events") or 20):]:
            add(ev)
    except Exception as exc:  # noqa: BLE001 - no history is not an error
        print(f"recent app_image events not read: {exc}")
    candidates = candidates_from_events(events)
    if params.get("image") and (params.get("tag") or params.get("digest")):
        from airflow.sdk import timezone

        candidates.append(Candidate(image=params["image"], tag=params.get("tag") or "", digest=params.get("digest") or "",
                                    built_at=timezone.utcnow().isoformat(), source=f"params of {context['run_id']}"))
    target = manifests_target(params)
    read, sha, tmp = _reader(target["repo_url"], target["branch"])
    try:
        current = read_image(read, target["path"], params.get("manifest_image") or "nginx")
    finally:
        tmp.cleanup()
    choice = choose(candidates, params.get("policy") or "newest", current,
                    semver_range=params.get("semver_range") or "*", track_tag=params.get("track_tag") or "")
    plan = {"target": target, "current": current, "candidates": [c.as_dict() for c in candidates],
            "chosen": choice.candidate.as_dict() if choice.candidate else None, "reason": choice.reason,
            "manifests_sha": sha}
    write_report(context, "image_plan.json", plan)
    print(f"image policy {params.get('policy')}: {choice.reason}")
    if choice.candidate is None:
        raise AirflowSkipException(f"no image update: {choice.reason}")
    return plan


@fail_fast
def write_image(params: dict, plan: dict, context: Any) -> dict:
    from airflow.sdk.exceptions import AirflowSkipException

    from include.links.manifests import image_changes
    from include.links.trace import commit_message

    earlier = previous_result(context, "write_back.json")
    if earlier:
        print(f"already committed by an earlier try: {earlier['sha'][:12]}")
        return earlier
    target, chosen = plan["target"], plan["chosen"]
    manifest_image = params.get("manifest_image") or "nginx"
    trace = {**_run_ids(context), "image": chosen["image"], "image_tag": chosen["tag"], "image_digest": chosen["digest"],
             "source_commit": chosen.get("commit"), "ci_run": chosen.get("source")}
    read, tip, tmp = _reader(target["repo_url"], target["branch"])
    try:
        changes = image_changes(read, target["path"], manifest_image, chosen["image"], chosen["tag"] or None,
                                chosen["digest"] or None)
        if not changes:
            raise AirflowSkipException(f"{target['path']} already runs {chosen['image']}:{chosen['tag']}")
        ref = f"{chosen['image']}:{chosen['tag'] or ''}{'@' + chosen['digest'][:19] if chosen['digest'] else ''}"
        subject = f"deploy image {ref} to {target['path']}"
        body = f"policy {params.get('policy') or 'newest'}: {plan['reason']}"
        done = commit(target, changes, commit_message(subject, body, trace), read)
    finally:
        tmp.cleanup()
    if not done["sha"]:
        raise AirflowSkipException("the manifests already hold this image: nothing to sync")
    wrote = {**target, **done, "subject": subject, "trace": trace, "image": chosen, "parent_sha": tip,
             "sync_run_id": sync_run_id(context["dag"].dag_id, done["sha"], context["run_id"])}
    write_report(context, "write_back.json", wrote)
    print(f"committed {done['sha'][:12]}: {subject}")
    return wrote


def rollback_image(context: Any) -> dict:
    wrote = context["ti"].xcom_pull(task_ids="write_back")
    if not wrote:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("nothing was committed (an earlier step failed): nothing to roll back")
    reason = failure_reason(context, wrote)
    revert_sha, sync_sha = revert(wrote, reason, wrote["trace"])
    result = {"reverted": wrote["sha"], "revert_commit": revert_sha, "reason": reason,
              "sync": revert_sync(context, wrote, sync_sha)}
    write_report(context, "rollback.json", result)
    print(f"rolled back: reverted {wrote['sha'][:12]} with {str(revert_sha)[:12]}. Why: {reason}")
    return result


# --------------------------------------------------------------------------- outcome
def outcome(context: Any, manifests_changed: Any = None) -> dict:
    """The run's summary (report.json + log); fails the run when the change was rolled back or failed."""
    from airflow.sdk.exceptions import AirflowFailException

    ti = context["ti"]
    states = task_states(context)
    wrote = ti.xcom_pull(task_ids="write_back")
    checked = ti.xcom_pull(task_ids="check_health")
    rolled = ti.xcom_pull(task_ids="rollback")
    restored = ti.xcom_pull(task_ids="check_revert")
    summary = {"write_back": wrote and {k: wrote.get(k) for k in ("sha", "subject", "repo_url", "path", "sync_run_id")},
               "sync": checked, "rollback": rolled, "revert_sync": restored, "tasks": states}
    failed = sorted(t for t, st in states.items() if st in ("failed", "upstream_failed") and t != "outcome")
    if rolled and not restored:
        summary["result"] = "rollback not synced"
        rolled = {**rolled, "reason": f"{rolled.get('reason')}; and the revert did not sync back to Healthy "
                                      f"(tasks: {', '.join(failed)}): the cluster may still run the bad revision. "
                                      "Fix: see the revert sync's run, then run gitops_manifest_sync"}
    elif rolled:
        summary["result"] = "rolled back"
    elif checked:
        summary["result"] = "deployed"
    elif wrote and states.get("announce") == "success":
        summary["result"] = "committed; sync left to the manifests_changed Asset"
    elif failed or wrote:
        summary["result"] = "failed"
    else:
        summary["result"] = "nothing to deploy"
    summary["failed_tasks"] = failed
    path = write_report(context, "report.json", summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "tasks"}, indent=2, default=str))
    print(f"report: {path}")
    if summary["result"] in ("rolled back", "rollback not synced", "failed"):
        raise AirflowFailException(
            f"{summary['result']}: {(rolled or {}).get('reason') or 'failed tasks: ' + (', '.join(failed) or 'see the logs')}")
    return summary


def asset_extra(wrote: dict) -> dict:
    """The ``manifests_changed`` event extra: what gitops_manifest_sync reads (repo_url, path, app, commit)."""
    return {"repo_url": wrote["repo_url"], "path": wrote["path"], "app": wrote["app"], "commit": wrote["sha"],
            "revision": wrote["sha"], **{k: v for k, v in wrote["trace"].items() if v}}


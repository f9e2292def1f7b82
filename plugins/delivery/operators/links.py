"""Airflow glue of the links: model promotion -> manifests -> sync, and new image -> manifests -> sync.

The work is in ``include/links`` (``writeback``: checkout, commit, exact revert;
``model_writeback`` / ``image_writeback``: what each link writes; ``images``: the image policy)
and ``include/mlops/registry`` (the alias moves). This module only reads params, XComs and
Asset events, skips or fails the task, and writes the reports. Its functions are called from
the TaskFlow tasks of ``mlops_promote_to_gitops`` and ``gitops_image_update``; the hand-over to
GitOps is ``delivery.operators.handover``. Heavy imports stay inside the functions.
"""

from __future__ import annotations

from typing import Any, Callable

from delivery.failures import step

RECENT_EVENTS = 20  # how many recent app_image events a run without a triggering event considers
WRITE_BACK = "write_back.json"


def _write_once(context: Any, write: Callable[[], dict]) -> dict:
    """Run ``write`` once per DAG run: a retry after a push returns the earlier commit (no second push).

    Nothing to commit (``NothingToDo``) skips the task and, through it, the sync.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.runs import report_folder
    from include.common.reports import read_report, write_report
    from include.links.writeback import NothingToDo

    folder = report_folder(context)
    earlier = read_report(folder, WRITE_BACK)
    if earlier:
        print(f"already committed by an earlier try: {earlier['sha'][:12]}")
        return earlier
    try:
        wrote = write()
    except NothingToDo as exc:
        raise AirflowSkipException(str(exc)) from exc
    write_report(folder, WRITE_BACK, wrote)
    print(f"committed {wrote['sha'][:12]} to {wrote['repo_url']} ({wrote['branch']}): {wrote['subject']}")
    return wrote


def _rollback(context: Any, undo: Callable[[dict, dict], dict] | None = None) -> dict:
    """Revert the write-back commit (and ``undo(wrote, rolled)`` what else it moved); the reason is in both.

    Skipped when nothing was committed. ``rollback.json`` and the XCom name the revert commit
    and the sync run that applies it.
    """
    from delivery.operators.handover import failure_reason
    from delivery.runs import report_folder, run_ids
    from include.common.reports import write_report
    from include.links.writeback import roll_back

    wrote = context["ti"].xcom_pull(task_ids="write_back")
    if not wrote:
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException("nothing was committed (an earlier step failed): nothing to roll back")
    rolled = roll_back(wrote, failure_reason(context, wrote), run_ids(context))
    moved = undo(wrote, rolled) if undo else {}
    result = {**rolled, **moved}
    write_report(report_folder(context), "rollback.json", result)
    done = "".join(f"; {text}" for text in moved.values())
    print(f"rolled back: reverted {wrote['sha'][:12]} with {str(rolled['revert_commit'])[:12]}{done}. "
          f"Why: {rolled['reason']}")
    return result


# --------------------------------------------------------------------------- model -> manifests
@step("read_deployed")
def read_deployed_model(params: dict, context: Any) -> dict:
    """The model the overlay serves now (the sensor's baseline); a ``model_promoted`` event names the model."""
    from delivery.runs import asset_events
    from include.common.events import ModelPromoted
    from include.links.model_writeback import deployed_model
    from include.links.writeback import manifests_target

    model_name, alias = params["model_name"], params["alias"]
    for extra in asset_events(context).get(ModelPromoted.asset, [])[-1:]:
        promoted = ModelPromoted.from_extra(extra)
        model_name, alias = promoted.model_name, promoted.alias or alias
        print(f"triggered by {ModelPromoted.asset}: {model_name}@{alias} moved to v{promoted.version}")
    return deployed_model(manifests_target(params), model_name, alias)


def model_needs_approval(params: dict) -> bool:
    """A person must approve: the param asks for it, or the release policy requires it for the overlay's environment."""
    from include.links.writeback import manifests_target
    from include.release.model import needs_approval

    return bool(params["require_approval"]) or needs_approval(manifests_target(params)["path"],
                                                             params.get("release_policy") or None)


@step("release_check")
def release_model(params: dict, context: Any) -> dict:
    """Decide under the release policy whether the new version may reach the overlay's environment.

    Every required piece of evidence is checked at its source (the registry's gate tags, the
    validation result of the training data's exact hash, the HITL approval, the sync windows).
    ``release.json`` holds the decision; a blocked release fails here, before anything is committed.
    """
    from delivery.hooks.mlflow import MlflowHook
    from delivery.runs import report_folder, run_ids
    from include.common.reports import write_report
    from include.links.writeback import manifests_target
    from include.release.decision import check
    from include.release.model import decide_model

    ti = context["ti"]
    event = ti.xcom_pull(task_ids="wait_for_champion")
    target = manifests_target(params)
    decision = decide_model(MlflowHook(params["mlflow_conn_id"]).get_client(), target, event,
                            approval=ti.xcom_pull(task_ids="approve"), run=run_ids(context),
                            policy_path=params.get("release_policy") or None)
    write_report(report_folder(context), "release.json", decision.as_dict())
    for item in decision.statement["predicate"]["evidence"]:
        print(f"{'ok  ' if item['ok'] else 'MISSING'} {item['name']}: {item['detail']}")
    check(decision, f"{event['model_name'] if 'model_name' in event else (event.get('model') or {}).get('name')} "
                    f"v{event['version']}")
    print(f"release allowed to {decision.environment}: decision {decision.digest}")
    return decision.as_dict()


@step("write_back")
def write_model(params: dict, context: Any) -> dict:
    """Write the new champion into the overlay, commit and push; tag the model version with the commit."""
    from delivery.hooks.mlflow import MlflowHook
    from delivery.runs import run_ids
    from include.links import model_writeback
    from include.links.writeback import manifests_target

    ti = context["ti"]

    def write() -> dict:
        return model_writeback.write_model(
            MlflowHook(params["mlflow_conn_id"]).get_client(), manifests_target(params),
            ti.xcom_pull(task_ids="wait_for_champion"), ti.xcom_pull(task_ids="read_deployed"),
            configmap=params["configmap"], deployment=params["deployment"], run=run_ids(context),
            decision=ti.xcom_pull(task_ids="release_check"))

    return _write_once(context, write)


def rollback_model(params: dict, context: Any) -> dict:
    """Revert the write-back commit and move the alias back to the deployed version, recording why on both."""
    from delivery.hooks.mlflow import MlflowHook
    from include.links.model_writeback import roll_back_model

    def undo(wrote: dict, rolled: dict) -> dict:
        alias = (context["ti"].xcom_pull(task_ids="read_deployed") or {}).get("alias") or params["alias"]
        client = MlflowHook(params["mlflow_conn_id"]).get_client()
        return {"alias": roll_back_model(client, wrote, alias, reason=rolled["reason"],
                                         revert_commit=rolled["revert_commit"], dag_run_id=context["run_id"])}

    return _rollback(context, undo)


# --------------------------------------------------------------------------- image -> manifests
def _app_image_events(context: Any) -> list[dict]:
    """The ``app_image`` events as ``{"extra", "timestamp"}``: the triggering ones, then the recent ones.

    The recent ones come through the task's inlet, so a manual run sees them too.
    """
    from delivery.assets import app_image

    def as_dict(event: Any) -> dict:
        ts = getattr(event, "timestamp", None)
        return {"extra": dict(getattr(event, "extra", None) or {}), "timestamp": ts.isoformat() if ts else ""}

    events = [as_dict(e) for found in (context.get("triggering_asset_events") or {}).values() for e in found]
    # No history is an empty list; a failed read raises (and is retried) rather than look like "nothing new".
    return events + [as_dict(e) for e in list(context["inlet_events"][app_image])[-RECENT_EVENTS:]]


@step("plan")
def plan_image(params: dict, context: Any) -> dict:
    """Choose the image to deploy from the ``app_image`` events (and the params) under ``image_policy``."""
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.runs import report_folder
    from include.common.reports import write_report
    from include.links.image_writeback import plan
    from include.links.writeback import manifests_target

    chosen = plan(manifests_target(params), _app_image_events(context),
                  {k: params[k] for k in ("image", "tag", "digest")}, policy=params["image_policy"],
                  semver_range=params["semver_range"], track_tag=params["track_tag"],
                  manifest_image=params["manifest_image"], source=f"params of {context['run_id']}")
    write_report(report_folder(context), "image_plan.json", chosen)
    print(f"image policy {params['image_policy']}: {chosen['reason']}")
    if chosen["chosen"] is None:
        raise AirflowSkipException(f"no image update: {chosen['reason']}")
    return chosen


@step("write_back")
def write_image(params: dict, context: Any) -> dict:
    """Set the overlay's ``images:`` entry to the plan's choice, commit with trace ids, push."""
    from delivery.runs import run_ids
    from include.links.image_writeback import write_image as write

    return _write_once(context, lambda: write(context["ti"].xcom_pull(task_ids="plan"),
                                              manifest_image=params["manifest_image"],
                                              policy=params["image_policy"], run=run_ids(context)))


def rollback_image(context: Any) -> dict:
    """Revert the image write-back commit; the reason goes into the revert commit's message."""
    return _rollback(context)

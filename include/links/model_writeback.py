"""Model -> manifests: which model version the overlay serves, and the write-back of a new one.

The ``mlops_promote_to_gitops`` side of the links, on plain data: the target
(``writeback.manifests_target``), the sensor's event and an ``MlflowClient`` come in; the
record of the commit (what a rollback reverts) goes out. The registry moves are
``include.mlops.registry``.
"""

from __future__ import annotations

from typing import Any


def deployed_model(target: dict, model_name: str, alias: str) -> dict:
    """The model the overlay serves now (the sensor's baseline), with the target and the tip's SHA.

    An overlay that serves another model counts as nothing deployed (``replaces`` names it).
    """
    from include.links.manifests import read_model
    from include.links.writeback import checkout

    with checkout(target["repo_url"], target["branch"]) as tip:
        deployed = read_model(tip.read, target["path"]) or {"version": None}
    if deployed.get("version") and deployed.get("name") != model_name:
        print(f"the overlay serves {deployed.get('name')} v{deployed['version']}, not {model_name}: "
              "treated as nothing deployed")
        deployed = {"version": None, "replaces": deployed}
    print(f"deployed in {target['repo_url']}@{tip.sha[:12]}:{target['path']}: {model_name} v{deployed.get('version') or 'none'}")
    return {**deployed, **target, "manifests_sha": tip.sha, "model_name": model_name, "alias": alias}


def write_model(client: Any, target: dict, event: dict, deployed: dict, *, configmap: str, deployment: str,
                run: dict[str, str], decision: dict | None = None) -> dict:
    """Write the sensor's new version into the overlay, commit and push; tag the version with the commit.

    :param event: the alias sensor's event (``version``, ``model``: name, run_id, source).
    :param deployed: what :func:`deployed_model` read (the version the commit replaces).
    :param run: this run's ``dag_id`` and ``dag_run_id`` (trace ids).
    :param decision: the release decision (``include.release.decision.Decision.as_dict``): its
        statement is committed with the change, its digest is the ``Delivery-Release-Decision`` trailer.
    """
    from include.links.manifests import ModelRef, model_changes
    from include.release.decision import statement_file
    from include.links.trace import model_version_tags
    from include.links.writeback import write_back
    from include.mlops import registry

    model = event.get("model") or {}
    name, version = model.get("name") or deployed["model_name"], str(event["version"])
    ref = ModelRef(name=name, version=version, uri=f"models:/{name}/{version}", run_id=model.get("run_id") or "")
    trace = {**run, "model_name": name, "model_version": version, "previous_version": deployed.get("version") or "",
             "mlflow_run_id": ref.run_id, "model_uri": ref.uri, **registry.run_lineage(client, ref.run_id)}
    if decision:
        trace["release_decision"] = decision["digest"]

    def edit(read) -> dict[str, str]:
        changes = model_changes(read, target["path"], ref, configmap=configmap, deployment=deployment,
                                dag_id=run["dag_id"])
        if changes and decision:
            changes.update(statement_file(decision, target["app"]))
        return changes

    wrote = write_back(
        target, edit,
        subject=f"deploy model {name} v{version} to {target['path']}",
        body=(f"{deployed.get('alias') or 'champion'} moved from v{deployed.get('version') or '-'} to v{version}.\n"
              f"Source: {model.get('source') or ref.uri}"),
        trace=trace, run=run,
        unchanged=f"{target['path']} already serves {name} v{version}: nothing to commit or sync",
        concurrent="the manifests already hold this model (a concurrent run wrote it): nothing to sync",
    )
    registry.tag_version(client, name, version, model_version_tags({
        "manifests_commit": wrote["sha"], "manifests_repo": target["repo_url"], "manifests_path": target["path"],
        "deploy_dag_run_id": run["dag_run_id"]}))
    return {**wrote, "model_name": name, "model_version": version, "previous_version": deployed.get("version")}


def roll_back_model(client: Any, wrote: dict, alias: str, *, reason: str, revert_commit: str | None,
                    dag_run_id: str) -> str:
    """Move ``alias`` back to the version the write-back replaced; the bad version says why."""
    from include.links.trace import model_version_tags
    from include.mlops import registry

    tags = model_version_tags({"rollback_reason": reason, "rollback_revert_commit": revert_commit or "",
                               "rollback_dag_run_id": dag_run_id})
    return registry.roll_back(client, wrote["model_name"], alias, wrote["model_version"], wrote.get("previous_version"),
                              dag_run_id=dag_run_id, tags=tags)

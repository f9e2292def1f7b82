"""Image -> manifests: choose the image under the policy, and write it into the overlay.

The ``gitops_image_update`` side of the links, on plain data: the target
(``writeback.manifests_target``), the ``app_image`` events and the manual params come in; the
plan (``image_plan.json``) and the record of the commit (what a rollback reverts) go out. The
policy itself is ``include.links.images``.
"""

from __future__ import annotations

from datetime import datetime, timezone


def plan(target: dict, events: list[dict], manual: dict, *, policy: str, semver_range: str | None,
         track_tag: str | None, manifest_image: str, source: str) -> dict:
    """Pick the image to deploy from the events (``{"extra", "timestamp"}``) and the manual params.

    :param manual: the ``image``, ``tag`` and ``digest`` params: a candidate when the image and a
        tag or digest are set.
    :param source: where a manual candidate comes from (``params of <run>``).
    """
    from include.links.images import Candidate, candidates_from_events, choose
    from include.links.manifests import read_image
    from include.links.writeback import checkout

    candidates, ignored = candidates_from_events(events)
    for why in ignored:
        print(f"app_image event left out: {why}")
    if manual.get("image") and (manual.get("tag") or manual.get("digest")):
        candidates.append(Candidate(image=manual["image"], tag=manual.get("tag") or "", digest=manual.get("digest") or "",
                                    built_at=datetime.now(timezone.utc).isoformat(), source=source))
    with checkout(target["repo_url"], target["branch"]) as tip:
        current = read_image(tip.read, target["path"], manifest_image)
    choice = choose(candidates, policy, current, semver_range=semver_range or "*", track_tag=track_tag or "")
    return {"target": target, "current": current, "candidates": [c.as_dict() for c in candidates],
            "chosen": choice.candidate.as_dict() if choice.candidate else None, "reason": choice.reason,
            "manifests_sha": tip.sha}


def write_image(plan: dict, *, manifest_image: str, policy: str, run: dict[str, str]) -> dict:
    """Set the overlay's ``images:`` entry to the plan's choice, commit (trace ids in the message), push.

    :param run: this run's ``dag_id`` and ``dag_run_id`` (trace ids).
    """
    from include.links.manifests import image_changes
    from include.links.writeback import write_back

    target, chosen = plan["target"], plan["chosen"]
    trace = {**run, "image": chosen["image"], "image_tag": chosen["tag"], "image_digest": chosen["digest"],
             "source_commit": chosen.get("commit"), "ci_run": chosen.get("source")}
    ref = f"{chosen['image']}:{chosen['tag'] or ''}{'@' + chosen['digest'][:19] if chosen['digest'] else ''}"
    wrote = write_back(
        target,
        lambda read: image_changes(read, target["path"], manifest_image, chosen["image"], chosen["tag"] or None,
                                   chosen["digest"] or None),
        subject=f"deploy image {ref} to {target['path']}", body=f"policy {policy}: {plan['reason']}",
        trace=trace, run=run,
        unchanged=f"{target['path']} already runs {chosen['image']}:{chosen['tag']}",
        concurrent="the manifests already hold this image: nothing to sync",
    )
    return {**wrote, "image": chosen}

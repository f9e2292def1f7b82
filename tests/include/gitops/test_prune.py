from __future__ import annotations

from include.gitops.prune import candidates, is_protected, prune
from include.gitops.types import ANNOTATION_PRUNE, LABEL_APP, ResourceKey


def cm(name: str, app: str | None = "shop", **annotations: str) -> dict:
    meta: dict = {"name": name, "namespace": "demo", "annotations": annotations}
    if app:
        meta["labels"] = {LABEL_APP: app}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def test_only_our_label_and_not_in_git_and_not_protected() -> None:
    keep = cm("keep")
    owned = [keep, cm("gone"), cm("other", app="other"), cm("unlabelled", app=None), cm("safe", **{ANNOTATION_PRUNE: "false"}),
             cm("argo-safe", **{"argocd.argoproj.io/sync-options": "ServerSideApply=true, Prune=false"})]
    to_prune, protected = candidates("shop", owned, {ResourceKey.of(keep)})
    assert [o["metadata"]["name"] for o in to_prune] == ["gone"]
    assert sorted(o["metadata"]["name"] for o in protected) == ["argo-safe", "safe"]
    assert is_protected(protected[0])


def test_dry_run_deletes_nothing() -> None:
    class Boom:
        def delete(self, *a, **k):
            raise AssertionError("dry-run must not delete")

    results = prune(Boom(), [cm("gone")], [cm("safe")], dry_run=True)
    assert [(r.key.name, r.action) for r in results] == [("safe", "protected"), ("gone", "would-prune")]


def test_describe_and_failure_message() -> None:
    from include.gitops.prune import describe, failure_message
    from include.gitops.results import Action, ResourceResult

    kept = prune(None, [cm("gone")], [], dry_run=True)
    assert describe(kept, enabled=False)[-1].startswith("prune=false: 1 Extraneous resource(s) stay")
    assert failure_message(kept) == ""
    failed = [ResourceResult(ResourceKey.of(cm("old")), Action.FAILED, "HTTP 403: forbidden", 403)]
    assert describe(failed, enabled=True) == ["failed       ConfigMap demo/old HTTP 403: forbidden"]
    message = failure_message(failed)
    assert message.startswith("prune could not delete 1 resource(s): ConfigMap demo/old: HTTP 403") and "prune=true" in message

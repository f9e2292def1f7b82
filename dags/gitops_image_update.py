"""
### CI/CD -> GitOps: write a new app image into the manifests repo and sync it

Runs on each `app_image` Asset event of `cicd_build_test_scan` (an `AppImage`: repo_url, sha,
image, tag, digest, reference, report_dir), or on demand (then the recent `app_image` events
and the params `image` + `tag`/`digest` are the candidates), like Argo CD Image Updater's git
write-back and Flux image automation:

**`plan`** (the candidates from the events and params; the `image_policy` picks one: `newest`
build, highest `semver` tag in `semver_range`, or the new `digest` of `track_tag`; never a
downgrade under semver) -> **`write_back`** (the overlay's kustomize `images:` entry gets
`newName`, `newTag` and `digest`; one commit whose message carries the image, tag, digest,
source commit and this run id; pushed with retries on a rejected push, never forced) ->
**`sync`** (triggers `gitops_manifest_sync` for exactly that commit and waits, deferred) ->
**`check_health`** -> on failure **`rollback`** (reverts the commit, says why in it) ->
**`sync_revert`** + `check_revert` (the revert is synced back to Healthy) -> `outcome` (report).

With `sync_via=asset` the commit is announced as a `manifests_changed` Asset event instead.
No candidate, or nothing new: the run ends with `plan` skipped and nothing committed.
One run at a time. Reports: `$DELIVERY_STATE/reports/gitops_image_update/<run_id>/`. See docs/links.md.
"""

from __future__ import annotations

from airflow.sdk import Param, TriggerRule, dag, task

from delivery.assets import app_image
from delivery.dag_args import shared_dag_args
from delivery.operators.handover import sync_and_check
from delivery.params import app_params, branch_param, handover_params


@dag(
    schedule=[app_image],
    doc_md=__doc__,
    tags=["gitops", "cicd", "links"],
    **shared_dag_args("gitops"),
    params={
        "image_policy": Param("newest", type="string", enum=["newest", "semver", "digest"],
                              description="Which image wins: newest build, highest semver tag in range, or new digest "
                                          "of a tag."),
        "semver_range": Param("*", type="string",
                              description="Allowed versions for image_policy semver, e.g. '^1.2', '~1.2.3', "
                                          "'>=1.2.0 <2.0.0', '*'."),
        "track_tag": Param(None, type=["null", "string"],
                           description="For image_policy digest: the mutable tag to follow (e.g. latest or main)."),
        "manifest_image": Param("nginx", type="string", pattern="^[a-z0-9]+([._/:-][a-z0-9]+)*$",
                                description="Image name as written in the base manifests (the kustomize images: key)."),
        "image": Param(None, type=["null", "string"],
                       description="Manual trigger: the pushed image, e.g. 127.0.0.1:5000/demo-app. Empty: Asset events only."),
        "tag": Param(None, type=["null", "string"], description="Manual trigger: the image tag (validated before any Git write)."),
        "digest": Param(None, type=["null", "string"], description="Manual trigger: the pushed digest, sha256:<64 hex digits>."),
        **app_params(),
        **branch_param(),
        **handover_params(),
    },
)
def gitops_image_update():
    @task(inlets=[app_image])
    def plan(params=None, **context) -> dict:
        """Pick the image under image_policy from the app_image events (triggering and recent) and the params."""
        from delivery.operators import links

        return links.plan_image(params, context)

    @task
    def write_back(params=None, **context) -> dict:
        """Set the overlay's images: entry (tag + digest), commit with trace ids, push."""
        from delivery.operators import links

        return links.write_image(params, context)

    @task(trigger_rule=TriggerRule.ONE_FAILED)
    def rollback(**context) -> dict:
        """Revert the commit; the reason goes into the revert commit's message."""
        from delivery.operators import links

        return links.rollback_image(context)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def outcome(**context) -> dict:
        """Write report.json; fail the run when the update was rolled back or failed."""
        from delivery.operators import handover

        return handover.outcome(context)

    wrote = write_back()
    plan() >> wrote
    sync_and_check(wrote, rollback()) >> outcome()


gitops_image_update()

"""
# cicd_watch_branch

Notice a new commit on a watched branch and start `cicd_build_test_scan` for that exact SHA.

`wait_for_commit` (deferrable `GitCommitSensor`: `git ls-remote` until the branch tip differs
from the last SHA handed on, kept in `<state>/cicd/watch/`) -> `trigger_build` (conf
`{"repo_url", "revision": <sha>}`) -> `remember` (stores the SHA). With no new commit within
`wait_timeout` seconds the sensor is skipped: a run never hangs. Schedule it (e.g. every 5
minutes) to watch continuously.
"""

from __future__ import annotations

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, task

from delivery.dag_args import shared_dag_args
from delivery.operators.cicd_params import app_repo_param
from delivery.sensors.git_commit import GitCommitSensor


@dag(
    dag_id="cicd_watch_branch",
    schedule=None,
    doc_md=__doc__,
    tags=["cicd"],
    **shared_dag_args("cicd", retry_delay=None),
    params={
        **app_repo_param("Git URL to watch. Empty: the seeded demo app repo."),
        "branch": Param("main", type="string", minLength=1, description="Branch to watch."),
        "wait_timeout": Param(60, type="integer", minimum=1, maximum=86400,
                              description="Seconds to wait for a new commit before giving up (the run is then skipped)."),
    },
)
def cicd_watch_branch():
    wait = GitCommitSensor(task_id="wait_for_commit", repo_url="{{ params.repo_url or '' }}",
                           branch="{{ params.branch }}", wait_timeout="{{ params.wait_timeout }}", poll_interval=5,
                           deferrable=True, retries=0,
                           doc_md="Waits for a new commit (deferred to the triggerer). No retries: no new commit "
                                  "within `wait_timeout` skips the run by design; the next scheduled run looks again.")

    trigger = TriggerDagRunOperator(
        task_id="trigger_build",
        trigger_dag_id="cicd_build_test_scan",
        conf={"repo_url": "{{ params.repo_url or '' }}", "revision": "{{ ti.xcom_pull(task_ids='wait_for_commit') }}"},
        wait_for_completion=False,
    )

    @task
    def remember(repo_url: str, branch: str, sha: str) -> str:
        """Store the SHA handed to the build, so the next watch waits for a newer one."""
        from include.cicd.watch import record_sha

        return record_sha(repo_url, branch, sha)

    wait >> trigger >> remember("{{ params.repo_url or '' }}", "{{ params.branch }}", wait.output)


cicd_watch_branch()

"""
# cicd_watch_branch

Notice a new commit on a watched branch and start `cicd_build_test_scan` for that exact SHA.

`wait_for_commit` (deferrable `GitCommitSensor`: `git ls-remote` until the branch tip differs
from the last SHA handed on, kept in `<state>/cicd/watch/`) -> `trigger_build` (conf
`{"repo", "ref": <sha>}`) -> `remember` (stores the SHA). With no new commit within `timeout`
seconds the sensor is skipped: a run never hangs. Schedule it (e.g. every 5 minutes) to watch
continuously.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, task

from delivery.sensors.git_commit import GitCommitSensor


@dag(
    dag_id="cicd_watch_branch",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["cicd"],
    default_args={"owner": "cicd", "retries": 2},
    max_active_runs=1,
    params={
        "repo": Param(None, type=["null", "string"], description="Git URL to watch. Empty: the seeded demo app repo."),
        "branch": Param("main", type="string", minLength=1, description="Branch to watch."),
        "timeout": Param(60, type="integer", minimum=1, maximum=86400,
                         description="Seconds to wait for a new commit before giving up (the run is then skipped)."),
    },
)
def cicd_watch_branch():
    wait = GitCommitSensor(task_id="wait_for_commit", repo="{{ params.repo or '' }}", branch="{{ params.branch }}",
                           max_wait="{{ params.timeout }}", poll_interval=5, deferrable=True, retries=0,
                           doc_md="Waits for a new commit (deferred to the triggerer). No retries: no new commit "
                                  "within `timeout` skips the run by design; the next scheduled run looks again.")

    trigger = TriggerDagRunOperator(
        task_id="trigger_build",
        trigger_dag_id="cicd_build_test_scan",
        conf={"repo": "{{ params.repo or '' }}", "ref": "{{ ti.xcom_pull(task_ids='wait_for_commit') }}"},
        wait_for_completion=False,
    )

    @task
    def remember(repo: str, branch: str, sha: str) -> str:
        """Store the SHA handed to the build, so the next watch waits for a newer one."""
        from include.cicd.params import demo_repo_url
        from include.cicd.watch import record_sha

        record_sha(repo or demo_repo_url(), branch, sha)
        return sha

    wait >> trigger >> remember("{{ params.repo or '' }}", "{{ params.branch }}", wait.output)


cicd_watch_branch()

"""The params of the CI/CD DAGs, defined once (each call returns new ``Param`` objects).

``app_repo_param()`` is the app's source repo, shared by cicd_build_test_scan and
cicd_watch_branch; ``build_params()`` are the build's own. The stage and builder names come
from include/cicd, so the form offers exactly what the pipeline runs.
"""

from __future__ import annotations

from airflow.sdk import Param

from delivery.params import revision_param
from include.cicd.builders import BUILDERS
from include.cicd.results import STAGES


def app_repo_param(description: str) -> dict[str, Param]:
    """``repo_url``: the app's Git repo; empty means the seeded demo app repo ``<state>/repos/app.git``."""
    return {"repo_url": Param(None, type=["null", "string"], description=description)}


def build_params() -> dict[str, Param]:
    """Everything cicd_build_test_scan asks for: what to build, how to judge it, how to build the image."""
    return {
        **app_repo_param("Git URL of the app (file://, https://, ssh://). Empty: the seeded demo app repo "
                         "<state>/repos/app.git."),
        **revision_param("Branch, tag or commit SHA to build."),
        "image": Param("demo-app", type="string", minLength=1,
                       description="Image repository name in the registry (tag = first 12 chars of the commit SHA)."),
        "gate_policy": Param("default", type="string", minLength=1,
                             description="Gate policy: a name from include/cicd/policy/ (default, strict) or a YAML/JSON "
                                         "path."),
        "stages": Param(list(STAGES), type="array", items={"type": "string", "enum": list(STAGES)}, minItems=1,
                        description="Stages to run (checkout, env and the gate always run)."),
        "builder": Param("auto", type="string", enum=list(BUILDERS),
                         description="Image builder. auto: $DELIVERY_IMAGE_BUILDER, else docker when a Docker engine "
                                     "answers, else buildah (daemonless on the worker). kubernetes: build and push "
                                     "pods (KubernetesPodOperator); the repo must be a URL the cluster can clone."),
    }

"""The links between the families: plain Python, no Airflow import.

- ``alias``: when has the MLflow ``champion`` moved (the promotion sensor's rule, poll backoff);
- ``manifests``: write a model reference or an image tag/digest into a Kustomize overlay;
- ``images``: the image update policy (semver range, digest, newest build);
- ``trace``: commit messages and tags that carry the trace ids (run ids, model version, digest, SHA);
- ``demo``: the demo runs of the link DAGs.
"""

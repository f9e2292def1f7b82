"""The links between the families: plain Python, no Airflow import.

- ``writeback``: check out the manifests repo, commit an edit, revert exactly that commit;
- ``model_writeback`` / ``image_writeback``: what the model and the image link read and write;
- ``handover``: did the triggered sync deploy our commit, why not, the run's summary, the
  ``manifests_changed`` event;
- ``alias``: when has the MLflow ``champion`` moved (the promotion sensor's rule, poll backoff);
- ``manifests``: write a model reference or an image tag/digest into a Kustomize overlay;
- ``images``: the image update policy (semver range, digest, newest build);
- ``trace``: commit messages and tags that carry the trace ids (run ids, model version, digest, SHA);
- ``demo``: the demo runs of the link DAGs.
"""

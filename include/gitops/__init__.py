"""GitOps logic: request -> render -> validate -> normalize/ignore -> diff -> plan -> apply/prune -> wait (health) -> history.

Plain Python, no Airflow import. Cluster access goes through :class:`include.gitops.client.Cluster`,
which wraps a kubernetes ``ApiClient`` that the caller passes in. ``sync`` runs the steps (the
DAG runs the same functions, one task each), ``report`` writes what people and machines read.
"""

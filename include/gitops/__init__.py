"""GitOps logic: render -> validate -> normalize/ignore -> diff -> plan -> apply/prune -> health -> history.

Plain Python, no Airflow import. Cluster access goes through :class:`include.gitops.client.Cluster`,
which wraps a kubernetes ``ApiClient`` that the caller passes in.
"""

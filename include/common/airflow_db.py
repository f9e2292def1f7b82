"""Connection arguments for Airflow's metadata DB when it is SQLite (the embedded default).

SQLite has one writer at a time, and the api-server, scheduler, dag-processor, triggerer and
task processes all write to it. pysqlite gives up on a lock after 5 s, and the REST API then
answers 500 "Database error" (seen in CI while an Asset-triggered run was writing). Waiting up
to 60 s turns those failures into short waits. scripts/env.sh points
``[database] sql_alchemy_connect_args`` (and ``_async``) here only when the DB is SQLite.
"""

SQLITE_CONNECT_ARGS = {"timeout": 60}
SQLITE_CONNECT_ARGS_ASYNC = {"timeout": 60}  # a separate dict: Airflow adds keys to the sync one

"""Names that vulture reports as unused but that a framework uses by reflection.

Passed to vulture by bench/bench_code_health.py and tests/test_code_health.py. Only such names
belong here, each with why; dead code is deleted instead. vulture only parses this file: ``_``
stands for any object.
"""

# Airflow reads these class attributes and methods of hooks, operators, sensors and triggers.
_.conn_name_attr  # hooks: the connection-id argument's name
_.conn_type  # hooks: the connection type in the UI's form
_.hook_name  # hooks: the connection type's label
_.get_ui_field_behaviour  # hooks: the connection form's hidden fields and placeholders
_.test_connection  # hooks: the UI's and the REST API's "Test" button
_.template_fields  # operators and sensors: the arguments Jinja renders
_.ui_color  # operators and sensors: the colour in the graph view
_.poke  # sensors: called by BaseSensorOperator.execute
_.poke_interval  # sensors: read by BaseSensorOperator between pokes
_.execute_complete  # deferrable tasks: the method named in defer(method_name=...)
_.serialize  # triggers: how the triggerer rebuilds the trigger

# Airflow configuration points at these by import path (scripts/env.sh, scripts/stack/stack_env.py).
SQLITE_CONNECT_ARGS  # [database] sql_alchemy_connect_args
SQLITE_CONNECT_ARGS_ASYNC  # [database] sql_alchemy_connect_args_async
get_hostname  # [core] hostname_callable = delivery.hostname.get_hostname

# A dotted-path default ("include.mlops.tuning:objective_from_file") imported by OptunaWorkerOperator.
objective_from_file

# Dataclass fields written out through dataclasses.asdict (Asset event extras, reports, cluster.json).
_.batch_sha256  # events.ProductionBatch
_.report_html  # events.RetrainRequested
_.mlflow_run_id  # events.ModelPromoted
_.previous_version  # events.ModelPromoted
_.data_sha256  # events.ModelPromoted
_.history_id  # events.ClusterSynced
_.health_timeout  # gitops.request.SyncRequest (the sync state read by WaitForHealthyOperator)
_.progressing_ok  # gitops.request.SyncRequest
_.triggered_by  # gitops.request.SyncRequest (recorded in the history)
_.threshold  # mlops.drift.FeatureDrift (drift report)
_.psi_level  # mlops.drift.FeatureDrift
_.n_reference  # mlops.drift.FeatureDrift
_.n_current  # mlops.drift.FeatureDrift
_.at  # gitops.notifications.Notification (the webhook body)

# Attributes that a library reads from its own objects.
_.retries  # kubernetes.client.Configuration: urllib3 retries of the API client
_.check_hostname  # ssl.SSLContext
_.verify_mode  # ssl.SSLContext
_.progress_bars  # great_expectations context variables
_.sampler  # optuna.Study: the sampler the study's trials use
_.pruner  # optuna.Study: the pruner the study's trials use

# http.server.BaseHTTPRequestHandler dispatches on these (the demo app's server).
_.server_version
_.do_GET
_.do_POST

# A counter of API calls that bench/bench_gitops.py reads (bench/ is outside the scanned folders).
_.requests

"""MLOps logic: data, validation suite, tuning, training, promotion policy, drift, reports.

Plain Python with no Airflow import; the operators in ``plugins/delivery`` adapt it to Airflow.
"""

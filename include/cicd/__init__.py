"""CI/CD: build, test and scan an application repo, apply the gate policy, ship an image.

Plain Python with no Airflow import. Each stage is a function that takes paths and plain data
and returns a ``StageResult`` dict (see ``include.cicd.results``); ``include.cicd.policy`` turns
all stage results into a verdict with reasons; ``include.cicd.report`` writes the summary.
"""

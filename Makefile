# The project's commands. Every target does its own set-up (see scripts/setup.d/).
.PHONY: demo test airflow airflow-stop stack stack-stop k8s-start k8s-stop bench lock setup clean

demo:            ## the main job: every DAG end to end on the embedded default, with a summary
	bash scripts/demo.sh

test:            ## the test command: set-up, then pytest (ARGS="..." goes to pytest)
	bash scripts/test.sh $(ARGS)

airflow:         ## start Airflow standalone (UI + REST API on localhost:8080) in the background
	bash scripts/airflow.sh start

airflow-stop:    ## stop it (the whole process group)
	bash scripts/airflow.sh stop

stack:           ## the production stack natively: Celery workers, Redis, PostgreSQL, MLflow, Git server (127.0.0.1:8180)
	bash scripts/stack.sh start

stack-stop:      ## stop every process of the native stack
	bash scripts/stack.sh stop

k8s-start:       ## start the local Kubernetes control plane (prints its kubeconfig path)
	bash scripts/k8s/start.sh

k8s-stop:        ## stop it (--wipe: ARGS=--wipe also deletes its data)
	bash scripts/k8s/stop.sh $(ARGS)

bench:           ## print the benchmarks' numbers
	bash scripts/bench.sh

setup:           ## install and start what the project needs (venv, PostgreSQL, tools)
	bash scripts/setup.sh

lock:            ## regenerate requirements.lock from requirements.txt
	uv pip compile --quiet requirements.txt -o requirements.lock --python-version 3.11

clean:           ## delete the state folder (.state/: Airflow home, stores, reports, demo repos)
	bash scripts/airflow.sh stop || true
	bash scripts/stack.sh stop || true
	bash scripts/k8s/stop.sh || true
	bash scripts/image/stop.sh || true
	rm -rf .state

"""The host name Airflow records for the tasks a process runs (``[core] hostname_callable``).

The native production stack (``make stack``, scripts/stack.sh) runs two Celery workers on one
machine, so Airflow's default (the machine's FQDN) would give both the same name. Each worker
gets ``AIRFLOW__CORE__HOSTNAME_CALLABLE=delivery.hostname.get_hostname`` and
``DELIVERY_WORKER_HOSTNAME`` set to its Celery node name (``worker1@<host>``), so a task
instance's ``hostname`` in the UI and the REST API names the worker that ran it. Without the
variable this is Airflow's default. Plain stdlib: the setting is imported by every component.
"""

from __future__ import annotations

import os
import socket


def get_hostname() -> str:
    """``$DELIVERY_WORKER_HOSTNAME``, else the machine's fully qualified domain name."""
    return os.environ.get("DELIVERY_WORKER_HOSTNAME") or socket.getfqdn()

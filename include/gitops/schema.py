"""What the API server knows of the built-in types' schema that a local diff must know too.

A server-side apply merges Git into the live object with the types' schema; a local diff that
ignores it reports drift the server would never make (an env var another manager added, a
quantity the server rewrote, a default it fills in again). Three small tables, as data:

* ``MERGE_KEYS``: lists whose items are matched by key (``x-kubernetes-list-type: map`` and its
  ``x-kubernetes-list-map-keys`` in the server's OpenAPI), and ``SET_LISTS`` (``list-type:
  set``). Every other list of a built-in type is atomic. ``KEY_DEFAULTS``: a key field the
  server defaults (a port without ``protocol`` is keyed ``protocol: TCP``).
* ``QUANTITY_FIELDS``: where a value is a ``resource.Quantity`` (the server stores its
  canonical form: ``cpu: 0.2`` becomes ``200m``).
* ``SERVER_DEFAULTS``: values the server fills in when a field is absent, so that a field
  removed from Git whose live value is its default is not drift (removing ``replicas: 1``
  changes nothing).

Rows are ``(kind, path)``: ``kind`` ``*`` for any built-in kind, ``path`` the end of a field's
path, dotted, ``[]`` for a list item and ``*`` for any map key. They hold only for the
built-in API groups: a custom resource's lists are atomic unless its CRD says otherwise, and
the diff then reads the list type from managedFields (see :mod:`include.gitops.managed_fields`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

# Groups whose schema the API server compiles in (the core group is "").
BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "node.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "certificates.k8s.io",
    "flowcontrol.apiserver.k8s.io", "events.k8s.io", "resource.k8s.io",
})

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_CONTAINER_FIELDS = {
    "env": ("name",), "ports": ("containerPort", "protocol"), "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",), "resources.claims": ("name",),
}

MERGE_KEYS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # PodSpec: in Pods and in every pod template (Deployment, StatefulSet, DaemonSet, Job, CronJob...)
    *(("*", name, ("name",)) for name in _CONTAINER_LISTS),
    ("*", "volumes", ("name",)),
    ("*", "imagePullSecrets", ("name",)),
    ("*", "hostAliases", ("ip",)),
    ("*", "topologySpreadConstraints", ("topologyKey", "whenUnsatisfiable")),
    ("*", "resourceClaims", ("name",)),
    ("*", "schedulingGates", ("name",)),
    # Container
    *(("*", f"{c}[].{f}", keys) for c in _CONTAINER_LISTS for f, keys in _CONTAINER_FIELDS.items()),
    ("Service", "spec.ports", ("port", "protocol")),
    ("ServiceAccount", "secrets", ("name",)),
    ("MutatingWebhookConfiguration", "webhooks", ("name",)),
    ("ValidatingWebhookConfiguration", "webhooks", ("name",)),
)
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}

SET_LISTS: tuple[tuple[str, str], ...] = (
    ("*", "metadata.finalizers"),
)

QUANTITY_FIELDS: tuple[tuple[str, str], ...] = (
    ("*", "resources.limits.*"),  # containers, pod-level resources, PVC
    ("*", "resources.requests.*"),
    ("*", "spec.overhead.*"),
    ("*", "emptyDir.sizeLimit"),
    ("ResourceQuota", "spec.hard.*"),
    ("PersistentVolume", "spec.capacity.*"),
    *(("LimitRange", f"spec.limits[].{f}.*") for f in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")),
)


def _image_pull_policy(container: dict[str, Any]) -> str:
    image = str(container.get("image") or "")
    tag = image.rsplit("/", 1)[-1]
    return "Always" if "@" not in tag and (":" not in tag or tag.endswith(":latest")) else "IfNotPresent"


# A value, or a function of the object that holds the field (after the apply).
SERVER_DEFAULTS: tuple[tuple[str, str, Any], ...] = (
    ("Deployment", "spec.replicas", 1),
    ("StatefulSet", "spec.replicas", 1),
    ("ReplicaSet", "spec.replicas", 1),
    ("Deployment", "spec.revisionHistoryLimit", 10),
    ("StatefulSet", "spec.revisionHistoryLimit", 10),
    ("DaemonSet", "spec.revisionHistoryLimit", 10),
    ("Deployment", "spec.progressDeadlineSeconds", 600),
    ("Deployment", "spec.strategy.type", "RollingUpdate"),
    ("StatefulSet", "spec.podManagementPolicy", "OrderedReady"),
    ("Job", "spec.backoffLimit", 6),
    ("CronJob", "spec.concurrencyPolicy", "Allow"),
    ("CronJob", "spec.successfulJobsHistoryLimit", 3),
    ("CronJob", "spec.failedJobsHistoryLimit", 1),
    ("*", "spec.restartPolicy", "Always"),
    ("*", "spec.dnsPolicy", "ClusterFirst"),
    ("*", "spec.schedulerName", "default-scheduler"),
    ("*", "spec.terminationGracePeriodSeconds", 30),
    *(("*", f"{c}[].imagePullPolicy", _image_pull_policy) for c in _CONTAINER_LISTS),
    *(("*", f"{c}[].terminationMessagePath", "/dev/termination-log") for c in _CONTAINER_LISTS),
    *(("*", f"{c}[].terminationMessagePolicy", "File") for c in _CONTAINER_LISTS),
    *(("*", f"{c}[].ports[].protocol", "TCP") for c in _CONTAINER_LISTS),
    ("Service", "spec.ports[].protocol", "TCP"),
    ("Service", "spec.ports[].targetPort", lambda port: port.get("port")),
    ("Service", "spec.type", "ClusterIP"),
    ("Service", "spec.sessionAffinity", "None"),
    ("Secret", "type", "Opaque"),
)

NO_DEFAULT = object()


class _Table:
    """Rows indexed by their last path token (and, for a ``*`` last token, by the one before):
    a lookup is a dict access and a few tuple compares, not a scan of every row."""

    def __init__(self, rows: tuple[tuple[Any, ...], ...]):
        self.by_last: dict[str, list[tuple[str, tuple[str, ...], Any]]] = {}
        self.by_parent: dict[str, list[tuple[str, tuple[str, ...], Any]]] = {}
        for kind, path, *value in rows:
            tokens = tuple(path.replace("[]", ".[]").split("."))
            entry = (kind, tokens, value[0] if value else True)
            if tokens[-1] == "*":
                self.by_parent.setdefault(tokens[-2], []).append(entry)
            else:
                self.by_last.setdefault(tokens[-1], []).append(entry)

    def find(self, kind: str, path: tuple[str, ...]) -> Any:
        if not path:
            return None
        for entry in self.by_last.get(path[-1], ()):
            if _matches(entry, kind, path):
                return entry[2]
        if len(path) > 1:
            for entry in self.by_parent.get(path[-2], ()):
                if _matches(entry, kind, path):
                    return entry[2]
        return None


def _matches(entry: tuple[str, tuple[str, ...], Any], kind: str, path: tuple[str, ...]) -> bool:
    row_kind, tokens, _ = entry
    if row_kind not in ("*", kind) or len(tokens) > len(path):
        return False
    tail = path[len(path) - len(tokens):]
    return all(t == "*" or t == p for t, p in zip(tokens, tail))


_MERGE_KEYS = _Table(MERGE_KEYS)
_SETS = _Table(SET_LISTS)
_QUANTITIES = _Table(QUANTITY_FIELDS)
_DEFAULTS = _Table(SERVER_DEFAULTS)

SET = "set"  # the list type of a set list, in place of merge keys


@lru_cache(maxsize=4096)
def list_keys(group: str, kind: str, path: tuple[str, ...]) -> tuple[str, ...] | str | None:
    """The merge keys of the list at ``path``, :data:`SET` for a set, None when atomic or unknown."""
    if group not in BUILTIN_GROUPS:
        return None
    if _SETS.find(kind, path):
        return SET
    return _MERGE_KEYS.find(kind, path)


@lru_cache(maxsize=4096)
def is_quantity(group: str, kind: str, path: tuple[str, ...]) -> bool:
    return group in BUILTIN_GROUPS and bool(_QUANTITIES.find(kind, path))


def server_default(group: str, kind: str, path: tuple[str, ...], holder: dict[str, Any] | None) -> Any:
    """The value the server gives the field at ``path`` when it is absent, or :data:`NO_DEFAULT`."""
    if group not in BUILTIN_GROUPS:
        return NO_DEFAULT
    found = _DEFAULTS.find(kind, path)
    if found is None:
        return NO_DEFAULT
    if callable(found):
        return found(holder or {})
    return found

"""The contracts between DAGs: one dataclass per Asset's event ``extra``, one key per idea.

A producer emits ``SomeEvent(...).to_extra()``; a consumer reads ``SomeEvent.from_extra(extra)``
and gets the same fields back, or an ``InputError`` that names the Asset, the missing keys and
the fix. The keys mean one thing everywhere:

    repo_url     a Git repository URL          sha          an exact commit SHA (40 hex)
    app          a GitOps app name             path         a folder in a repo (an overlay)
    data_path    a data file (CSV / Parquet)   sha256       the content hash of that file
    dag_id       the DAG that emitted it       dag_run_id   the run that emitted it
    report_dir   that run's report folder      mlflow_run_id  an MLflow run

``schema`` is the contract's version. A consumer accepts its own version and older ones; an event
from a newer producer fails with the fix (deploy the same project version everywhere).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, TypeVar

from include.common.errors import InputError

E = TypeVar("E", bound="Event")


@dataclass(frozen=True)
class Event:
    """Base of every contract: ``to_extra`` / ``from_extra`` and the schema check."""

    asset: ClassVar[str] = ""
    schema: ClassVar[int] = 1

    def to_extra(self) -> dict[str, Any]:
        return {"schema": self.schema, **dataclasses.asdict(self)}

    @classmethod
    def from_extra(cls: type[E], extra: Mapping[str, Any] | None) -> E:
        extra = dict(extra or {})
        # an AssetWatcher's event (Git watcher, cluster watch) wraps what its trigger yielded
        if extra.get("from_trigger") and isinstance(extra.get("payload"), Mapping):
            extra = dict(extra["payload"])
        got = int(extra.get("schema") or 1)
        if got > cls.schema:
            raise InputError(f"{cls.asset} event", f"it has schema {got}, this consumer reads up to {cls.schema}",
                             "run the same version of the project in the producing and the consuming DAG")
        names = {f.name for f in dataclasses.fields(cls)}
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = [name for name in required if extra.get(name) in (None, "")]
        if missing:
            raise InputError(f"{cls.asset} event", f"it has no {', '.join(missing)} (keys: {', '.join(sorted(extra)) or 'none'})",
                             f"emit it with include.common.events.{cls.__name__}(...).to_extra()")
        return cls(**{k: v for k, v in extra.items() if k in names})


@dataclass(frozen=True)
class TrainingData(Event):
    """A batch that may be trained on (``training_data``)."""

    asset: ClassVar[str] = "training_data"
    data_path: str
    sha256: str = ""


@dataclass(frozen=True)
class ProductionBatch(Event):
    """A batch of production inputs to check for drift (``production_batch``)."""

    asset: ClassVar[str] = "production_batch"
    data_path: str
    sha256: str = ""


@dataclass(frozen=True)
class RetrainRequested(Event):
    """The drift monitor asks for a new model (``retrain_requested``).

    ``data_path`` is set only when the drifted batch has labels (it can be trained on).
    """

    asset: ClassVar[str] = "retrain_requested"
    batch_path: str
    batch_sha256: str
    drift_share: float
    champion_version: str
    dag_run_id: str
    drifted_features: list[str] = field(default_factory=list)
    report_html: str = ""
    data_path: str = ""


@dataclass(frozen=True)
class ModelPromoted(Event):
    """An alias (``champion``) moved to a model version (``model_promoted``)."""

    asset: ClassVar[str] = "model_promoted"
    model_name: str
    version: str
    alias: str
    dag_run_id: str
    mlflow_run_id: str = ""
    previous_version: str | None = None
    tracking_uri: str = ""
    data_sha256: str = ""
    data_path: str = ""


@dataclass(frozen=True)
class AppImage(Event):
    """An image CI built from ``repo_url`` at ``sha``, pushed and verified (``app_image``)."""

    asset: ClassVar[str] = "app_image"
    repo_url: str
    sha: str
    image: str
    tag: str
    digest: str
    reference: str = ""
    report_dir: str = ""


@dataclass(frozen=True)
class ManifestsChanged(Event):
    """A commit to a manifests repo that should be synced (``manifests_changed``).

    ``trace`` carries the ids of what the commit deploys (model version, image digest, runs).
    """

    asset: ClassVar[str] = "manifests_changed"
    schema: ClassVar[int] = 2
    app: str
    repo_url: str
    path: str
    sha: str
    trace: dict[str, Any] = field(default_factory=dict)
    # schema 2: the app's own settings from apps.yaml (the Git watcher); None: the sync's params decide
    namespace: str | None = None
    prune: bool | None = None
    self_heal: bool | None = None


@dataclass(frozen=True)
class ClusterSynced(Event):
    """A sync finished and was recorded in the app's history (``cluster_synced``)."""

    asset: ClassVar[str] = "cluster_synced"
    app: str
    sha: str
    history_id: int
    health: str = ""
    report_dir: str = ""


@dataclass(frozen=True)
class ClusterDrift(Event):
    """The live cluster differs from Git for an app (``cluster_drift``).

    ``source`` says who saw it: ``drift_check`` (the scheduled diff against Git, which always
    knows ``repo_url``, ``path`` and ``sha``) or ``watch`` (the cluster watch, which sees a hand
    edit, not Git: those three are the app's last recorded sync, or empty when it has none).
    ``resources`` lists ``{"resource", "display", "change", "fields", "by"}`` per changed object.
    Schema 2: ``repo_url``, ``path`` and ``sha`` became optional, ``source`` and ``resources`` new.
    """

    asset: ClassVar[str] = "cluster_drift"
    schema: ClassVar[int] = 2
    app: str
    status: str
    repo_url: str = ""
    path: str = ""
    sha: str = ""
    self_heal: bool = False
    revision: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    report_dir: str = ""
    source: str = "drift_check"
    resources: list[dict[str, Any]] = field(default_factory=list)


CONTRACTS: dict[str, type[Event]] = {c.asset: c for c in
                                      (TrainingData, ProductionBatch, RetrainRequested, ModelPromoted, AppImage,
                                       ManifestsChanged, ClusterSynced, ClusterDrift)}

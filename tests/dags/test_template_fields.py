"""Templated fields: a Jinja string (or an XComArg) only works in an attribute Airflow renders.

Airflow renders only the attributes an operator lists in ``template_fields``. A ``"{{ params.x }}"``
passed to any other attribute reaches the operator as that literal text (for a connection id:
no such connection, and a hook may quietly fall back to a default store). This test loads every
DAG in ``dags/``, walks every task's attributes (into dicts, lists, tuples and sets) and fails on
each value that holds ``{{`` or ``{%`` (or an XComArg, which is resolved the same way) outside the
task's ``template_fields``, naming the DAG, the task, the attribute and the string.

- Classic operators and sensors: every instance attribute.
- TaskFlow tasks: their arguments live in ``op_args`` / ``op_kwargs``, which must be templated.
- Mapped tasks: ``partial_kwargs`` and the expand input (``.expand(...)`` keyword names are
  attributes of the unmapped operator; a mapped TaskFlow task's go to ``op_kwargs``). An XComArg
  given to ``.expand()`` is the mapping's source, resolved by expansion, so it is not reported.
- Dict keys are never rendered (only values are), so a Jinja key is always reported.

There is no exemption list: an offender is fixed in its operator, not excused here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = PROJECT_ROOT / "dags"
JINJA_MARKERS = ("{{", "{%")
# Instance attributes that are never rendered and are not an operator's settings:
# the constructor's kwargs as recorded by BaseOperator (each also lands in its own attribute,
# which is checked), and the documentation shown in the UI (it may show Jinja as an example).
IGNORED_ATTRIBUTES = frozenset({"_BaseOperator__init_kwargs", "doc", "doc_md", "doc_rst", "doc_json", "doc_yaml"})

@dataclass(frozen=True)
class Offender:
    dag_id: str
    task_id: str
    attribute: str
    path: str
    value: str

    def line(self) -> str:
        return (f"{self.dag_id}.{self.task_id}: attribute {self.attribute!r} is not in template_fields but "
                f"{self.path} holds {self.value!r}; it reaches the operator unrendered. Fix: add "
                f"{self.attribute!r} to the operator's template_fields (and mark it (templated) in its "
                "docstring), or pass a plain value")


class ParseTimeLookup(AssertionError):
    """A DAG file read a connection or Variable while being parsed."""


@pytest.fixture(scope="module")
def dagbag():
    """The DagBag of dags/, parsed with connection and Variable lookups refused (as in test_integrity)."""
    from unittest import mock

    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):
        raise ParseTimeLookup(f"parse-time lookup of {args or kwargs}: move it into a task")

    with (
        mock.patch("airflow.sdk.BaseHook.get_connection", side_effect=refuse),
        mock.patch("airflow.sdk.Variable.get", side_effect=refuse),
    ):
        bag = DagBag(dag_folder=str(DAGS_DIR))
    assert not bag.import_errors, bag.import_errors
    return bag


# ---------------------------------------------------------------------------------------- checker


def _needs_rendering(value: Any) -> bool:
    from airflow.sdk.definitions.xcom_arg import XComArg

    if isinstance(value, str):
        return any(marker in value for marker in JINJA_MARKERS)
    return isinstance(value, XComArg)


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any, bool]]:
    """``(path, value, is_dict_key)`` for every string / XComArg that would need rendering."""
    if _needs_rendering(value):
        yield path, value, False
    elif isinstance(value, dict):
        for key, item in value.items():
            if _needs_rendering(key):
                yield f"{path} key {key!r}", key, True
            yield from _walk(item, f"{path}[{key!r}]")
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _is_taskflow(task) -> bool:
    from airflow.sdk.bases.decorator import DecoratedMappedOperator, DecoratedOperator

    return isinstance(task, (DecoratedOperator, DecoratedMappedOperator))


def _attributes(task) -> Iterator[tuple[str, Any]]:
    """``(attribute, value)`` pairs of a task as Airflow will see them when it renders."""
    from airflow.sdk.bases.decorator import DecoratedMappedOperator
    from airflow.sdk.definitions.mappedoperator import MappedOperator
    from airflow.sdk.definitions.xcom_arg import XComArg

    if not isinstance(task, MappedOperator):
        yield from ((name, value) for name, value in vars(task).items() if name not in IGNORED_ATTRIBUTES)
        return
    yield from task.partial_kwargs.items()
    expand = task._get_specified_expand_input().value
    rows = expand if isinstance(expand, (list, tuple)) else [expand]  # ListOfDicts / DictOfLists
    for row in rows:
        if not isinstance(row, dict):  # an XComArg of dicts: its keys are only known at run time
            continue
        for name, value in row.items():
            if isinstance(value, XComArg):  # the mapping's source: resolved by expansion, not by rendering
                continue
            # A mapped TaskFlow task's expanded arguments become its op_kwargs.
            yield ("op_kwargs" if isinstance(task, DecoratedMappedOperator) else name), value


def untemplated(dag) -> list[Offender]:
    """Every value of ``dag``'s tasks that needs rendering but sits outside ``template_fields``."""
    found = []
    for task in sorted(dag.tasks, key=lambda t: t.task_id):
        fields = set(task.template_fields)
        for name, value in _attributes(task):
            for path, bad, is_key in _walk(value, name):
                if is_key or name not in fields:
                    found.append(Offender(dag.dag_id, task.task_id, name, path, str(bad)))
    return found


# ------------------------------------------------------------------------------------------ tests


def _dag_ids() -> list[str]:
    from airflow.dag_processing.dagbag import DagBag

    return sorted(DagBag(dag_folder=str(DAGS_DIR)).dags)


@pytest.mark.parametrize("dag_id", _dag_ids())
def test_jinja_only_in_template_fields(dagbag, dag_id):
    offenders = list(untemplated(dagbag.dags[dag_id]))
    assert not offenders, "\n".join(o.line() for o in offenders)


@pytest.mark.parametrize("dag_id", _dag_ids())
def test_taskflow_arguments_are_templated(dagbag, dag_id):
    for task in dagbag.dags[dag_id].tasks:
        if _is_taskflow(task):
            assert {"op_args", "op_kwargs"} <= set(task.template_fields), (
                f"{dag_id}.{task.task_id}: a TaskFlow task must template op_args and op_kwargs, "
                f"has {task.template_fields}")


def test_the_checker_finds_every_kind_of_offender():
    """The checker itself, on a DAG built here: classic, nested, dict key, mapped, TaskFlow."""
    from airflow.sdk import DAG, BaseOperator, task

    class Op(BaseOperator):
        template_fields = ("rendered",)

        def __init__(self, *, rendered=None, literal=None, mapped=None, **kwargs):
            super().__init__(**kwargs)
            self.rendered, self.literal, self.mapped = rendered, literal, mapped

    with DAG("checker_selftest", schedule=None) as dag:
        Op(task_id="fine", rendered={"a": ["{{ ds }}"]}, literal="plain", doc_md="Example: `{{ ds }}`")
        Op(task_id="literal", literal="{{ params.x }}")
        Op(task_id="nested", literal={"conf": ("ok", {"deep": "{% if x %}y{% endif %}"})})
        Op(task_id="key", rendered={"{{ ds }}": 1})
        Op.partial(task_id="mapped_partial", literal="{{ params.y }}").expand(rendered=["a", "b"])
        Op.partial(task_id="mapped_expand").expand(mapped=["{{ ds }}", "b"])
        Op.partial(task_id="mapped_fine", rendered="{{ ds }}").expand(literal=["a"])
        Op.partial(task_id="mapped_from_xcom").expand(literal=Op(task_id="source").output)
        Op.partial(task_id="mapped_xcom_partial", literal=Op(task_id="source2").output).expand(rendered=["a"])

        @task
        def flow(x, y=None):
            return x

        flow("{{ ds }}", y={"k": "{{ params.z }}"})
        flow.partial(y="{{ ds }}").expand(x=["{{ ds }}"])

    found = {(o.task_id, o.attribute, o.path) for o in untemplated(dag)}
    assert found == {
        ("literal", "literal", "literal"),
        ("nested", "literal", "literal['conf'][1]['deep']"),
        ("key", "rendered", "rendered key '{{ ds }}'"),
        ("mapped_partial", "literal", "literal"),
        ("mapped_expand", "mapped", "mapped[0]"),
        ("mapped_xcom_partial", "literal", "literal"),  # an XComArg outside template_fields never resolves
    }, found
    line = next(o for o in untemplated(dag) if o.task_id == "literal").line()
    assert "checker_selftest.literal" in line and "'literal'" in line and "{{ params.x }}" in line

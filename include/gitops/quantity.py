"""Resource quantities compared by value: the server stores ``cpu: 0.2`` as ``200m`` and
``memory: 1024Mi`` as ``1Gi``, so the text of Git and of the live object may differ while the
quantity is the same. Parsing is the kubernetes client's (``kubernetes.utils.quantity``)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8192)
def _parse(text: str) -> Decimal | None:
    # imported here: plugins import include.gitops at DAG parse time
    from kubernetes.utils.quantity import parse_quantity

    try:
        return parse_quantity(text)
    except (ValueError, ArithmeticError):
        return None


def canonical(value: Any) -> Decimal | None:
    """The quantity's value, or None when ``value`` is not a quantity."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    # str() first: Decimal(0.2) is 0.2000000000000000111..., Decimal("0.2") is 0.2
    return _parse(str(value).strip())


def same_quantity(a: Any, b: Any) -> bool | None:
    """Whether two quantities are equal; None when either is not a quantity (compare as values)."""
    left, right = canonical(a), canonical(b)
    if left is None or right is None:
        return None
    return left == right

"""Read back the trace ids that ``include.links.trace.commit_message`` writes as Git trailers.

Only the tests read commit messages this way; people use ``git log --format=%(trailers)``.
"""

from __future__ import annotations

import re

from include.links.trace import TRAILER_PREFIX

_TRAILER_RE = re.compile(rf"^({TRAILER_PREFIX}[A-Za-z0-9-]+): (.*)$")


def parse_trailers(message: str) -> dict[str, str]:
    """The trace ids of a commit message (``Delivery-Model-Version: 3`` -> ``model_version``: ``3``)."""
    out: dict[str, str] = {}
    for line in message.splitlines():
        match = _TRAILER_RE.match(line.strip())
        if match:
            key = match.group(1)[len(TRAILER_PREFIX):].lower().replace("-", "_")
            out[key] = match.group(2)
    return out

"""What a cluster watch remembers across restarts, in one small JSON file.

Per kind the resourceVersion to resume the watch from; per object what our field manager owned
when drift was last reported (:class:`~include.gitops.ownership.Ownership`). With both, a restarted
triggerer replays the changes made while it was down (or re-lists when they are compacted away)
and judges them against the last reported state, so it neither misses an edit nor reports one
twice. The file is replaced atomically, so two watchers sharing it (a duplicate trigger) never
read half a file; the worst they do is report the same drift twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from include.gitops.ownership import Ownership

VERSION = 1


@dataclass
class WatchState:
    """``kinds``: ``apiVersion/kind`` -> resourceVersion; ``objects``: ResourceKey text -> Ownership."""

    kinds: dict[str, str] = field(default_factory=dict)
    objects: dict[str, Ownership] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> WatchState:
        """The saved state, or an empty one when there is none (first start) or it is unreadable."""
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError):
            # a broken file only costs a silent re-baseline, never a crash loop
            return cls()
        if data.get("version") != VERSION:
            return cls()
        return cls(kinds=dict(data.get("kinds") or {}),
                   objects={k: Ownership.from_dict(v) for k, v in (data.get("objects") or {}).items()})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": VERSION, "kinds": self.kinds,
                "objects": {k: v.as_dict() for k, v in sorted(self.objects.items())}}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def state_file(app: str | None, root: Path | None = None) -> Path:
    """The default state file: ``<state>/gitops/watch/<app or _all>.json``."""
    from include.common.paths import state_dir

    return (root or state_dir()) / "gitops" / "watch" / f"{app or '_all'}.json"

"""Which image goes into the manifests: the update policy of Argo CD Image Updater, as data.

Policies (``image_policy`` param of ``gitops_image_update``):

- ``semver``: the highest tag that parses as semantic version and satisfies ``semver_range``
  (``*``, ``1.x``, ``^1.2``, ``~1.2.3``, ``>=1.2.0 <2.0.0``, comma or space separated) and is
  higher than the tag deployed now (never a downgrade);
- ``digest``: follow a mutable tag (``track_tag``, e.g. ``latest`` or ``main``): update when its
  digest differs from the deployed one;
- ``newest``: the most recently built candidate (the event's build time), when its digest or
  tag differs from the deployed one.

Candidates come from the ``app_image`` Asset events of CI/CD (``include.common.events.AppImage``)
and the manual params.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from include.common.errors import InputError

POLICIES = ("newest", "semver", "digest")
_SEMVER_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_PARTIAL_RE = re.compile(r"^v?(\d+|x|X|\*)(?:\.(\d+|x|X|\*))?(?:\.(\d+|x|X|\*))?$")
_COMPARATOR_RE = re.compile(r"^(>=|<=|>|<|=|\^|~)?\s*(.+)$")


@dataclass(frozen=True)
class Candidate:
    """One pushed image: where it is, its tag and digest, and where it came from."""

    image: str
    tag: str = ""
    digest: str = ""
    built_at: str = ""  # ISO 8601 (the Asset event's timestamp)
    commit: str = ""
    source: str = ""  # e.g. the CI run or report folder

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Choice:
    candidate: Candidate | None
    reason: str


# --------------------------------------------------------------------------- semver
def parse_semver(tag: str) -> tuple | None:
    """``v1.2.3-rc.1`` -> (1, 2, 3, prerelease key); None when ``tag`` is not semver."""
    match = _SEMVER_RE.match(tag or "")
    if not match:
        return None
    major, minor, patch, pre = match.groups()
    # A release sorts after its pre-releases; pre-release parts compare numerically when numeric.
    pre_key = (1,) if pre is None else (0, *[(0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")])
    return int(major), int(minor), int(patch), pre_key


def _partial(text: str, what: str) -> list[int | None]:
    match = _PARTIAL_RE.match(text)
    if not match:
        raise InputError(what, f"{text!r} is not a version or a wildcard", "use forms like 1.2.3, 1.2, 1.x or *")
    return [None if g in (None, "x", "X", "*") else int(g) for g in match.groups()]


Bound = tuple  # (major, minor, patch, prerelease key), comparable with parse_semver()'s result
_RELEASE = (1,)
_LOWEST = (0,)  # sorts before every pre-release: "<2.0.0-0" in npm's words


def _bounds(op: str, text: str, what: str) -> list[tuple[str, Bound]]:
    exact = parse_semver(text)
    if exact is not None and op in ("", "=", ">=", ">", "<=", "<"):
        return [(op or "=", exact)]
    parts = _partial(text, what)
    major, minor, patch = parts
    if major is None:
        return []
    if op in ("", "=") and (minor is None or patch is None):  # 1.x / 1.2 -> a range
        lo = (major, minor or 0, 0, _LOWEST)
        hi = (major + 1, 0, 0, _LOWEST) if minor is None else (major, minor + 1, 0, _LOWEST)
        return [(">=", lo), ("<", hi)]
    full = (major, minor or 0, patch or 0, _LOWEST if op in ("^", "~") else _RELEASE)
    if op == "^":
        if major > 0 or minor is None:
            hi = (major + 1, 0, 0, _LOWEST)
        elif minor > 0 or patch is None:
            hi = (0, minor + 1, 0, _LOWEST)
        else:
            hi = (0, 0, (patch or 0) + 1, _LOWEST)
        return [(">=", full), ("<", hi)]
    if op == "~":
        hi = (major + 1, 0, 0, _LOWEST) if minor is None else (major, minor + 1, 0, _LOWEST)
        return [(">=", full), ("<", hi)]
    return [(op or "=", full)]


def parse_range(spec: str) -> list[tuple[str, Bound]]:
    """``">=1.2.0 <2.0.0"`` -> [(">=", (1,2,0,..)), ("<", (2,0,0,..))]; ``*`` or empty -> [] (anything)."""
    if not isinstance(spec, str):
        raise InputError("semver_range", f"{spec!r} is not a string", "use e.g. '>=1.2.0 <2.0.0' or '^1.2'")
    tokens = [t for t in re.split(r"[,\s]+", spec.strip()) if t]
    # Allow ">= 1.2.0" (operator and version split by a space).
    merged: list[str] = []
    for token in tokens:
        if merged and merged[-1] in (">=", "<=", ">", "<", "=", "^", "~"):
            merged[-1] += token
        else:
            merged.append(token)
    out: list[tuple[str, Bound]] = []
    for token in merged:
        match = _COMPARATOR_RE.match(token)
        if not match or match.group(2) in (">=", "<=", ">", "<", "=", "^", "~"):
            raise InputError("semver_range", f"{token!r} is not a comparator", "use e.g. '>=1.2.0 <2.0.0', '^1.2', '~1.2.3' or '1.x'")
        out += _bounds(match.group(1) or "", match.group(2), "semver_range")
    return out


def satisfies(version: tuple, bounds: list[tuple[str, Bound]]) -> bool:
    """Does ``version`` (from parse_semver) meet every bound? A pre-release only matches a range
    with a pre-release comparator on the same major.minor.patch (npm's rule)."""
    for op, bound in bounds:
        ok = {">=": version >= bound, ">": version > bound, "<=": version <= bound, "<": version < bound,
              "=": version == bound}[op]
        if not ok:
            return False
    if version[3] == _RELEASE:
        return True
    return any(tuple(b[:3]) == tuple(version[:3]) and b[3] not in (_RELEASE, _LOWEST) for _, b in bounds)


# --------------------------------------------------------------------------- policies
def choose(
    candidates: list[Candidate],
    policy: str,
    current: dict | None,
    *,
    semver_range: str = "*",
    track_tag: str = "",
) -> Choice:
    """Pick the candidate to deploy (or None, with the reason) under ``policy``.

    ``current`` is the overlay's ``images:`` entry (``newName``, ``newTag``, ``digest``) or None.
    """
    if policy not in POLICIES:
        raise InputError("image_policy", f"{policy!r} is not a policy", f"use one of {', '.join(POLICIES)}")
    current = current or {}
    cur_tag, cur_digest = str(current.get("newTag") or ""), str(current.get("digest") or "")
    if not candidates:
        return Choice(None, "no image candidates: no app_image event and no image/tag/digest param")

    def same(c: Candidate) -> bool:
        return (c.digest or "") == cur_digest and (c.tag or "") == cur_tag and (c.image == current.get("newName"))

    if policy == "semver":
        bounds = parse_range(semver_range or "*")
        versioned = [(parse_semver(c.tag), c) for c in candidates]
        eligible = [(v, c) for v, c in versioned if v is not None and satisfies(v, bounds)]
        if not eligible:
            tags = ", ".join(sorted({c.tag for c in candidates})) or "(none)"
            return Choice(None, f"no candidate tag is a semantic version in range {semver_range!r} (tags: {tags})")
        best_v, best = max(eligible, key=lambda vc: vc[0])
        cur_v = parse_semver(cur_tag)
        if cur_v is not None and best_v < cur_v:
            return Choice(None, f"highest tag in range is {best.tag}, lower than the deployed {cur_tag}: no downgrade")
        if same(best):
            return Choice(None, f"{best.image}:{best.tag} is already deployed")
        return Choice(best, f"semver: {best.tag} is the highest tag in {semver_range!r} (deployed: {cur_tag or 'none'})")

    if policy == "digest":
        if not track_tag:
            raise InputError("track_tag", "the digest policy needs the tag to follow", "set track_tag, e.g. 'latest' or 'main'")
        tracked = [c for c in candidates if c.tag == track_tag and c.digest]
        if not tracked:
            return Choice(None, f"no candidate for tag {track_tag!r} with a digest")
        best = max(tracked, key=lambda c: c.built_at)
        if best.digest == cur_digest and best.image == current.get("newName"):
            return Choice(None, f"{track_tag} still points at the deployed digest {cur_digest[:19]}")
        return Choice(best, f"digest: {track_tag} moved to {best.digest[:19]} (deployed: {cur_digest[:19] or 'none'})")

    with_digest = [c for c in candidates if c.digest or c.tag]
    best = max(with_digest, key=lambda c: c.built_at)
    if same(best):
        return Choice(None, f"the newest build {best.image}:{best.tag} is already deployed")
    return Choice(best, f"newest: {best.image}:{best.tag} built {best.built_at or '(time unknown)'} is the newest build")


def candidates_from_events(events: list[dict]) -> tuple[list[Candidate], list[str]]:
    """``app_image`` events (``{"extra", "timestamp"}``) as candidates, each image once; and why others were left out.

    An event that is not an ``AppImage`` (an older producer, a hand-made event) is left out with
    the contract's error, so one bad event never hides the good ones.
    """
    from include.common.events import AppImage

    out: list[Candidate] = []
    ignored: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for event in events:
        try:
            image = AppImage.from_extra(event.get("extra"))
        except InputError as exc:
            ignored.append(str(exc))
            continue
        if (image.image, image.tag, image.digest) in seen:
            continue
        seen.add((image.image, image.tag, image.digest))
        out.append(Candidate(image=image.image, tag=image.tag or "", digest=image.digest or "",
                             built_at=str(event.get("timestamp") or ""), commit=image.sha, source=image.report_dir))
    return out, ignored

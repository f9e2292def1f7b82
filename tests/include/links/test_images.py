import pytest

from include.common.errors import InputError
from include.links.images import Candidate, candidates_from_events, choose, parse_range, parse_semver, satisfies

D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def c(tag, digest="", built="2026-11-26T10:00:00", image="reg/app"):
    return Candidate(image=image, tag=tag, digest=digest, built_at=built)


@pytest.mark.parametrize(
    ("spec", "version", "ok"),
    [
        ("*", "9.9.9", True),
        ("", "0.0.1", True),
        ("1.x", "1.9.0", True),
        ("1.x", "2.0.0", False),
        ("^1.2", "1.9.9", True),
        ("^1.2", "2.0.0", False),
        ("^0.2.3", "0.2.9", True),
        ("^0.2.3", "0.3.0", False),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.3.0", False),
        (">=1.2.0 <2.0.0", "1.5.0", True),
        (">=1.2.0, <2.0.0", "2.0.0", False),
        (">= 1.2.0", "1.1.9", False),
        ("1.x", "1.5.0-rc.1", False),  # pre-releases only when named
        (">=1.5.0-rc.1", "1.5.0-rc.2", True),
    ],
)
def test_semver_ranges(spec, version, ok):
    assert satisfies(parse_semver(version), parse_range(spec)) is ok


def test_semver_ordering_puts_releases_after_prereleases():
    assert parse_semver("1.0.0-rc.2") < parse_semver("1.0.0-rc.10") < parse_semver("1.0.0") < parse_semver("v1.0.1")
    assert parse_semver("0a1b2c3d4e5f") is None


@pytest.mark.parametrize("spec", ["banana", ">=", "1.2.3.4", "^x.y"])
def test_bad_range_names_the_param(spec):
    with pytest.raises(InputError) as err:
        parse_range(spec)
    assert err.value.what == "semver_range"


def test_semver_policy_picks_highest_in_range_and_never_downgrades():
    cands = [c("1.2.0", D1), c("1.10.0", D2), c("2.0.0"), c("0a1b2c3d4e5f")]
    choice = choose(cands, "semver", {"newName": "reg/app", "newTag": "1.2.0"}, semver_range="^1.0")
    assert choice.candidate.tag == "1.10.0"
    assert choose(cands, "semver", {"newName": "reg/app", "newTag": "1.11.0"}, semver_range="^1.0").candidate is None
    same = choose([c("1.10.0", D2)], "semver", {"newName": "reg/app", "newTag": "1.10.0", "digest": D2})
    assert same.candidate is None and "already deployed" in same.reason
    none = choose([c("abc")], "semver", None)
    assert none.candidate is None and "semantic version" in none.reason


def test_digest_policy_follows_a_mutable_tag():
    cands = [c("latest", D1, "2026-11-26T09:00:00"), c("latest", D2, "2026-11-26T10:00:00"), c("other", "sha256:" + "3" * 64)]
    assert choose(cands, "digest", {"newName": "reg/app", "digest": D1}, track_tag="latest").candidate.digest == D2
    assert choose(cands, "digest", {"newName": "reg/app", "digest": D2}, track_tag="latest").candidate is None
    with pytest.raises(InputError, match="track_tag"):
        choose(cands, "digest", None)


def test_newest_policy_takes_the_latest_build():
    cands = [c("aaa", D1, "2026-11-26T09:00:00"), c("bbb", D2, "2026-11-26T11:00:00")]
    assert choose(cands, "newest", None).candidate.tag == "bbb"
    assert choose(cands, "newest", {"newName": "reg/app", "newTag": "bbb", "digest": D2}).candidate is None
    assert choose([], "newest", None).candidate is None


def test_unknown_policy_is_refused_naming_the_param():
    with pytest.raises(InputError) as err:
        choose([c("1.0.0")], "latest-ish", None)
    assert err.value.what == "image_policy"


def app_image(tag, digest=D1, **extra):
    return {"repo_url": "file:///app.git", "sha": "0a1b" * 10, "image": "127.0.0.1:5000/demo-app", "tag": tag,
            "digest": digest, "report_dir": "/r", **extra}


def test_candidates_from_app_image_events():
    events = [
        {"timestamp": "2026-11-26T10:00:00+00:00", "extra": app_image("0a1b")},
        {"timestamp": "2026-11-26T10:30:00+00:00", "extra": app_image("0a1b")},  # the same image again
        {"timestamp": "2026-11-26T11:00:00+00:00", "extra": {"image": "x", "commit": "abc"}},  # not an AppImage
        {"timestamp": "2026-11-26T12:00:00+00:00", "extra": {}},
    ]
    candidates, ignored = candidates_from_events(events)
    assert candidates == [Candidate("127.0.0.1:5000/demo-app", "0a1b", D1, "2026-11-26T10:00:00+00:00",
                                    "0a1b" * 10, "/r")]
    assert len(ignored) == 2 and all("app_image event" in why for why in ignored)
    assert "repo_url" in ignored[0] and "AppImage" in ignored[0]

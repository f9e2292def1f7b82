import pytest

from include.links.alias import PollSchedule, alias_changed


@pytest.mark.parametrize(
    ("current", "baseline", "changed"),
    [
        (None, None, False),  # no model / no alias yet: wait
        ({"version": ""}, None, False),
        ({"version": "1"}, None, True),  # nothing deployed: any version fires
        ({"version": "1"}, "", True),
        ({"version": "3"}, "3", False),
        ({"version": "3"}, 3, False),
        ({"version": "4"}, "3", True),
        ({"version": "2"}, "3", True),  # moved back is a change too
    ],
)
def test_alias_changed(current, baseline, changed):
    assert alias_changed(current, baseline) is changed


def delays(schedule: PollSchedule, n: int) -> list[float]:
    out = [schedule.interval]
    while len(out) < n:
        out.append(schedule.next(out[-1]))
    return out


def test_poll_schedule_backs_off_to_the_cap():
    assert delays(PollSchedule(interval=2, backoff=2, max_interval=10), 5) == [2, 4, 8, 10, 10]
    assert delays(PollSchedule(interval=5, backoff=1, max_interval=5), 3) == [5, 5, 5]


@pytest.mark.parametrize("kwargs", [{"interval": 0}, {"interval": 20, "max_interval": 10}, {"backoff": 0.5}])
def test_poll_schedule_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        PollSchedule(**kwargs)

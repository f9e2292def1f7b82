import json

import pytest

from demo_app.routes import add, greet, handle


def test_greet_uses_the_name():
    assert greet(" Ada ") == "Hello, Ada!"


def test_greet_defaults_to_world():
    assert greet("") == "Hello, world!"


def test_greet_rejects_long_names():
    with pytest.raises(ValueError):
        greet("x" * 65)


def test_add():
    assert add("2", "40") == 42


def test_health_route():
    response = handle("GET", "/healthz")
    assert response.status == 200
    assert json.loads(response.encoded())["status"] == "ok"


@pytest.mark.parametrize(
    ("target", "status", "key"),
    [
        ("/greet?name=Bob", 200, "message"),
        ("/greet?name=" + "y" * 70, 400, "error"),
        ("/add?a=1&b=2", 200, "sum"),
        ("/add?a=1&b=x", 400, "error"),
        ("/nope", 404, "error"),
    ],
)
def test_routes(target, status, key):
    response = handle("GET", target)
    assert response.status == status
    assert key in response.body


def test_only_get_is_allowed():
    assert handle("POST", "/healthz").status == 405

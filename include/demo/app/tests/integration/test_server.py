import json
import threading
import urllib.error
import urllib.request

import pytest

from demo_app.server import make_server


@pytest.fixture()
def base_url():
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback test server
        return resp.status, json.loads(resp.read())


def test_health_over_http(base_url):
    status, body = _get(base_url + "/healthz")
    assert status == 200 and body["status"] == "ok"


def test_greet_over_http(base_url):
    assert _get(base_url + "/greet?name=Eve") == (200, {"message": "Hello, Eve!"})


def test_not_found_over_http(base_url):
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(base_url + "/missing")
    assert err.value.code == 404


def test_post_is_refused_over_http(base_url):
    req = urllib.request.Request(base_url + "/add?a=1&b=2", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)  # noqa: S310
    assert err.value.code == 405

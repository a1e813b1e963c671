"""The page's trust boundary, attacked the way a page or a program on the same machine would."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import sync_playwright

from importer.sandbox import SandboxConfig, start_sandbox_thread
from importer.web import WebConfig, WebServer, start_server_thread
from importer.web.guard import REQUEST_HEADER, TOKEN_HEADER, cookie_of
from tests import programs

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "candidates.csv"


@pytest.fixture
def server() -> Iterator[WebServer]:
    with start_server_thread(WebConfig(port=0)) as running:
        yield running


def logged_in(server: WebServer) -> requests.Session:
    """A browser-like session: the cookie from the printed link, nothing else."""
    session = requests.Session()
    assert session.get(server.login_url, timeout=5).status_code == 200
    return session


def test_the_cookie_is_bound_to_the_port_and_is_not_the_token(server: WebServer) -> None:
    session = logged_in(server)
    port = urlsplit(server.url).port or 0
    (cookie,) = session.cookies
    assert (cookie.name, cookie.value) == cookie_of(server.token, port)
    assert server.token not in cookie.value
    other_port = cookie_of(server.token, port + 1)
    assert other_port[1] != cookie.value
    # the token alone does not make the cookie: it is derived, so the cookie of another
    # importer on this host, or a guess from the token's shape, is refused
    answer = requests.get(
        server.url + "/api/config", cookies={cookie.name: server.token}, timeout=5
    )
    assert answer.status_code == 401


def test_a_foreign_host_header_is_refused(server: WebServer) -> None:
    port = urlsplit(server.url).port
    headers = {TOKEN_HEADER: server.token}
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1"):
        answer = requests.get(
            server.url + "/api/config", headers={**headers, "Host": host}, timeout=5
        )
        assert answer.status_code == 421, host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        answer = requests.get(
            server.url + "/api/config", headers={**headers, "Host": host}, timeout=5
        )
        assert answer.status_code == 200, host


def test_a_configured_host_is_answered() -> None:
    with start_server_thread(WebConfig(port=0, allowed_hosts=("importer.lan",))) as server:
        port = urlsplit(server.url).port
        answer = requests.get(
            server.url + "/api/config",
            headers={TOKEN_HEADER: server.token, "Host": f"importer.lan:{port}"},
            timeout=5,
        )
        assert answer.status_code == 200


def test_changes_with_the_cookie_need_the_page_s_own_header(server: WebServer) -> None:
    session = logged_in(server)
    upload = {"file": ("a.csv", SAMPLE.read_bytes())}
    assert session.post(server.url + "/api/uploads", files=upload, timeout=5).status_code == 403
    assert server.workspace.uploads == {}
    from_page = {REQUEST_HEADER: "1", "Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    answer = session.post(server.url + "/api/uploads", files=upload, headers=from_page, timeout=5)
    assert answer.status_code == 200, answer.text


def test_another_local_page_cannot_start_a_check(server: WebServer) -> None:
    """The reproduced attack: a text/plain JSON POST with a foreign Origin started a check."""
    session = logged_in(server)
    mine = {REQUEST_HEADER: "1", "Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    upload = session.post(
        server.url + "/api/uploads",
        files={"file": ("a.csv", SAMPLE.read_bytes())},
        headers=mine,
        timeout=5,
    ).json()
    body = json.dumps({"mapping": {"shipped": "default"}})
    attacks = [
        # what fetch(..., {mode: "no-cors", credentials: "include"}) sends from another port
        {
            "Content-Type": "text/plain",
            "Origin": "http://127.0.0.1:1",
            "Sec-Fetch-Site": "same-site",
        },
        {"Content-Type": "text/plain", "Origin": "http://127.0.0.1:1"},
        {"Content-Type": "text/plain", REQUEST_HEADER: "1", "Origin": "http://127.0.0.1:1"},
        {"Content-Type": "text/plain", REQUEST_HEADER: "1", "Sec-Fetch-Site": "cross-site"},
    ]
    for headers in attacks:
        answer = session.post(
            server.url + f"/api/uploads/{upload['id']}/check", data=body, headers=headers, timeout=5
        )
        assert answer.status_code == 403, headers
        assert "other pages" in answer.json()["error"] or "own page" in answer.json()["error"]
    assert server.jobs.live == 0
    assert list(server.jobs.jobs) == []


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"\xc3(", b"\x00"])
def test_malformed_token_bytes_are_a_401(server: WebServer, raw: bytes) -> None:
    parts = urlsplit(server.url)
    for header in (TOKEN_HEADER.encode(), b"Cookie"):
        value = raw if header != b"Cookie" else b"importer_x=" + raw
        with socket.create_connection((parts.hostname, parts.port), timeout=5) as connection:
            connection.sendall(
                b"GET /api/config HTTP/1.1\r\nHost: "
                + parts.netloc.encode()
                + b"\r\n"
                + header
                + b": "
                + value
                + b"\r\nConnection: close\r\n\r\n"
            )
            answer = connection.recv(65536)
        status = int(answer.split(b" ", 2)[1])
        assert status in (400, 401), (header, raw, answer[:200])


def test_the_embedded_sandbox_has_a_key_only_the_server_knows(server: WebServer) -> None:
    sandbox = server.sandbox
    assert sandbox.api_key not in ("sandbox", "", server.token)
    stats = requests.get(sandbox.url + "/_sandbox/stats", timeout=5)
    assert stats.status_code == 401
    listing = requests.get(
        sandbox.url + "/unified/ats/candidates",
        auth=("sandbox", ""),
        headers={"x-account-id": "sandbox"},
        timeout=5,
    )
    assert listing.status_code == 401
    allowed = requests.get(sandbox.url + "/_sandbox/stats", auth=(sandbox.api_key, ""), timeout=5)
    assert allowed.status_code == 200


def test_a_sandbox_on_loopback_answers_only_its_own_host() -> None:
    with start_sandbox_thread(SandboxConfig()) as sandbox:
        parts = urlsplit(sandbox.url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        connection.request("GET", "/_sandbox/stats", headers={"Host": "rebound.example"})
        assert connection.getresponse().status == 421
        connection.close()
        assert requests.get(sandbox.url + "/_sandbox/stats", timeout=5).status_code == 200


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_page_on_another_local_port_cannot_upload(server: WebServer, tmp_path: Path) -> None:
    """In Chromium: log in, then open a page served from another port of 127.0.0.1 that tries
    the reproduced no-cors upload with the user's cookies."""
    executable = programs.chromium()
    (tmp_path / "attack.html").write_text(
        "<!doctype html><script>\n"
        "const form = new FormData();\n"
        "form.append('file', new Blob(['First Name,Email\\nEve,e@example.com\\n']),"
        " 'evil.csv');\n"
        f"fetch('{server.url}/api/uploads', {{method: 'POST', mode: 'no-cors', "
        "credentials: 'include', body: form})\n"
        "  .then(() => document.title = 'sent', () => document.title = 'failed');\n"
        "</script>",
        encoding="utf-8",
    )
    handler = partial(_Quiet, directory=str(tmp_path))
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=attacker.serve_forever, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable,
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            page = browser.new_page()
            page.goto(server.login_url)
            page.wait_for_selector("body[data-ready]")
            page.goto(f"http://127.0.0.1:{attacker.server_address[1]}/attack.html")
            page.wait_for_function("document.title !== ''")
            browser.close()
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert server.workspace.uploads == {}


# -- quotas -----------------------------------------------------------------------------------


def _upload(server: WebServer, name: str, content: bytes) -> requests.Response:
    return requests.post(
        server.url + "/api/uploads",
        files={"file": (name, content)},
        headers={TOKEN_HEADER: server.token},
        timeout=10,
    )


def test_past_the_upload_count_the_least_recently_used_upload_goes() -> None:
    config = WebConfig(port=0, max_uploads=3)
    with start_server_thread(config) as server:
        ids = [_upload(server, f"{i}.csv", SAMPLE.read_bytes()).json()["id"] for i in range(3)]
        # touching the first makes the second the least recently used
        requests.get(
            server.url + f"/api/uploads/{ids[0]}", headers={TOKEN_HEADER: server.token}, timeout=5
        )
        fourth = _upload(server, "3.csv", SAMPLE.read_bytes())
        assert fourth.status_code == 200
        assert set(server.workspace.uploads) == {ids[0], ids[2], fourth.json()["id"]}
        folders = list((server.workspace.uploads_dir).iterdir())
        assert len(folders) == 3


def test_past_the_storage_quota_uploads_in_use_stay_and_a_new_one_is_refused() -> None:
    size = len(SAMPLE.read_bytes())
    config = WebConfig(port=0, max_upload_bytes=size * 2, max_storage_bytes=size * 2)
    with start_server_thread(config) as server:
        first = _upload(server, "a.csv", SAMPLE.read_bytes()).json()["id"]
        second = _upload(server, "b.csv", SAMPLE.read_bytes()).json()["id"]
        third = _upload(server, "c.csv", SAMPLE.read_bytes())
        assert third.status_code == 200
        assert first not in server.workspace.uploads  # the oldest went to make room
        assert server.workspace.stored_bytes <= size * 2
        # both kept uploads are read by running jobs: nothing may go, so the upload is refused
        busy = {second, third.json()["id"]}
        server.jobs.running_uploads = lambda: busy  # type: ignore[method-assign]
        refused = _upload(server, "d.csv", SAMPLE.read_bytes())
        assert refused.status_code == 507
        assert "ask whoever runs the server to allow more" in refused.json()["error"]
        assert "--" not in refused.json()["error"]  # the page names no command-line flag
        assert set(server.workspace.uploads) == busy

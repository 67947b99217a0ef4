"""End to end against a real `posegpt serve` process on 127.0.0.1: raw-path requests, a burst of
concurrent requests, and the chat page in headless Chromium (Playwright)."""

from __future__ import annotations

import http.client
import io
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow  # starts a server process (~25 s) and Chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAX_PENDING = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    """(base URL, output folder) of a `posegpt serve` subprocess admitting MAX_PENDING replies;
    Gradio's upload folder is the output folder's sibling `gradio`."""
    out = tmp_path_factory.mktemp("served")
    port = _free_port()
    command = [sys.executable, "-c", "from posegpt.cli import main; main()", "serve"]
    command += ["--model", str(model_dir), "--port", str(port), "--out", str(out)]
    command += ["--max-pending", str(MAX_PENDING), "--max-new-tokens", "32"]
    log = out.parent / "server.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_TEMP_DIR": str(out.parent / "gradio")}
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"server did not start:\n{log.read_text()}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        yield url, out
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    "path",
    [
        "/files/../../etc/passwd",
        "/files/%2e%2e/%2e%2e/etc/passwd",
        "/files/..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/assets/../../../../../etc/passwd",
        "/gradio_api/file=/proc/self/environ",
    ],
)
def test_raw_paths_cannot_leave_the_output_folder(server, path):
    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path)  # sent as written: no client-side normalisation
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status in (400, 403, 404)
    assert b"root:" not in body and b"PATH=" not in body


def test_page_events_cannot_name_server_files(server, tiny, tmp_path):
    """A hand-made page event naming a server-side picture (not an upload) is refused."""
    url, out = server
    secret = tmp_path / "secret_photo.png"
    tiny.photo().save(secret)
    config = httpx.get(f"{url}/config", timeout=10).json()
    event = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "respond")
    photo = {"path": str(secret), "meta": {"_type": "gradio.FileData"}}
    join = httpx.post(
        f"{url}/gradio_api/queue/join",
        json={
            "data": [None, tiny.PHOTO_QUESTION, photo, None, None],
            "fn_index": event,
            "session_hash": "x1",
        },
        timeout=10,
    )
    assert join.status_code == 200
    with httpx.stream(
        "GET", f"{url}/gradio_api/queue/data", params={"session_hash": "x1"}, timeout=30
    ) as stream:
        done = next(line for line in stream.iter_lines() if "process_completed" in line)
    assert '"success":false' in done
    assert not list((out.parent / "gradio").rglob(secret.name))


def test_burst_of_concurrent_requests(server, tiny):
    url, out = server
    clients = 32
    barrier = threading.Barrier(clients)

    def ask(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            return client.post(
                f"{url}/v1/chat",
                json={"messages": [{"role": "user", "content": tiny.POSE_REQUEST}]},
            )

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        responses = list(pool.map(ask, range(clients)))
    assert time.monotonic() - start < 60
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 503} and 200 in statuses and 503 in statuses, statuses
    for response in responses:
        if response.status_code == 503:
            assert response.headers["retry-after"] and "busy" in response.json()["detail"]
        else:
            assert response.json()["text"] == tiny.POSE_ANSWER
    health = httpx.get(f"{url}/health", timeout=10).json()
    assert health["pending"] == 0 and health["max_pending"] == MAX_PENDING
    after = httpx.post(
        f"{url}/v1/chat",
        json={"messages": [{"role": "user", "content": tiny.GREETING}]},
        timeout=60,
    )
    assert after.status_code == 200 and after.json()["text"] == tiny.GREETING_ANSWER
    assert all(path.is_relative_to(out) for path in out.rglob("*"))


def test_chat_page_in_headless_chromium(server, tiny, tmp_path):
    if not CHROMIUM.exists():  # CI installs it (README "Install"): there, its absence fails
        missing = pytest.fail if os.environ.get("CI") else pytest.skip
        missing(f"{CHROMIUM} is absent (apt-get install chromium)")
    from playwright import sync_api

    url, out = server
    tiny.photo().save(tmp_path / "photo.png")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url, wait_until="load", timeout=60_000)
            message = page.locator("#message textarea")
            message.wait_for(timeout=30_000)
            assert page.locator("#view3d canvas").count() == 0
            assert page.locator("#picture img").count() == 0
            page.locator("#send").click()  # an empty message: the engine's error is shown
            page.get_by_text("the message is empty").first.wait_for(timeout=30_000)

            message.fill(tiny.POSE_REQUEST)
            page.locator("#send").click()
            page.locator("#view3d canvas").wait_for(timeout=60_000)
            picture = page.locator("#picture img")
            picture.wait_for(timeout=60_000)
            page.wait_for_function(
                "() => { const i = document.querySelector('#picture img');"
                " return i && i.complete && i.naturalWidth > 0; }",
                timeout=30_000,
            )
            assert picture.evaluate("i => i.naturalWidth / i.naturalHeight") == 2
            _wait_for_drawing(page.locator("#view3d canvas"))
            assert "[pose_0]" in page.locator("#chat").inner_text()
            assert page.locator("#files").get_by_text("pose_0").count() >= 3
            page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)

            page.locator("#photo input[type=file]").set_input_files(str(tmp_path / "photo.png"))
            page.locator("#photo img").wait_for(timeout=30_000)
            message.fill(tiny.PHOTO_QUESTION)
            message.press("Enter")
            page.get_by_text("[pose_1]").first.wait_for(timeout=60_000)

            # a pose file, and "use this pose" on an earlier answer, go with the next message
            saved = next(out.rglob("pose_0.npz"))
            page.locator("#pose_file input[type=file]").set_input_files(str(saved))
            page.locator("#earlier_pose input").click()
            page.get_by_role("option", name="pose_1").click()
            message.fill(tiny.POSE_REQUEST)
            message.press("Enter")
            page.get_by_text("[with pose_0.npz, pose_1]").first.wait_for(timeout=60_000)

            page.locator("#reset").click()
            page.locator("#view3d canvas").wait_for(state="detached", timeout=30_000)
            assert page.locator("#picture img").count() == 0
            assert "pose_" not in page.locator("#chat").inner_text()
        finally:
            browser.close()
    with Image.open(tmp_path / "chat.png") as shot:
        assert shot.width >= 1280


def _wait_for_drawing(canvas, timeout: float = 30.0) -> None:
    """Wait until the WebGL canvas shows more than a flat background (the body is drawn)."""
    deadline = time.monotonic() + timeout
    while True:
        pixels = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("L"), float)
        if pixels.std() > 8:
            return
        assert time.monotonic() < deadline, "the 3D view stayed blank"
        time.sleep(0.3)


def _get(url: str, path: str, host_header: str | None = None, source: str = "127.0.0.1"):
    """(status, body) of a GET sent as written, from the local address `source`."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    headers = {"Host": host_header} if host_header else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def test_gradio_file_route_serves_no_other_file_of_the_output_folder(server):
    """Dotfiles and the user's own files in --out are not served; only answer files are."""
    url, out = server
    (out / ".env").write_text("SECRET=1")
    own = out / ("ab" * 16)
    own.mkdir(exist_ok=True)
    (own / "pose_0.png").write_bytes(b"the user's own file")
    for path in (out / ".env", own / "pose_0.png"):
        status, body = _get(url, f"/gradio_api/file={path}")
        assert status in (403, 404), body
        assert b"SECRET" not in body and b"own file" not in body


def test_host_header_must_be_local(server):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example."""
    url, _ = server
    port = url.rsplit(":", 1)[1]
    assert _get(url, "/health", f"evil.example:{port}")[0] == 400
    assert _get(url, "/health", f"localhost:{port}")[0] == 200
    assert _get(url, "/health", f"127.0.0.1:{port}")[0] == 200


def test_slow_clients_cannot_starve_others(server):
    """64 connections that never finish their headers: the server keeps answering others, and
    closes the slow ones after its header deadline (at once for those beyond the per-client
    cap)."""
    from posegpt.serve.server import HEADER_TIMEOUT, MAX_PER_CLIENT

    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    slow = []
    for _ in range(64):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        slow.append(sock)
    try:
        started = time.monotonic()
        time.sleep(2)  # the connections beyond the cap are closed by now
        assert _get(url, "/health", source="127.0.0.2")[0] == 200  # another client
        closed = []
        deadline = time.monotonic() + HEADER_TIMEOUT + 10
        for sock in slow:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                closed.append(sock.recv(1024) == b"")
            except ConnectionResetError:
                closed.append(True)
            except TimeoutError:
                closed.append(False)
        assert all(closed), f"only {sum(closed)} slow connections were closed"
        assert time.monotonic() - started < HEADER_TIMEOUT + 10
        assert _get(url, "/health")[0] == 200  # the slow client's address is served again
    finally:
        for sock in slow:
            sock.close()
    assert MAX_PER_CLIENT < 64


def test_connections_beyond_the_per_client_cap_get_503(server):
    """One address holding MAX_PER_CLIENT idle connections: its next request gets a JSON 503."""
    from posegpt.serve.server import MAX_PER_CLIENT

    url, _ = server
    host, port = url.removeprefix("http://").split(":")
    held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(MAX_PER_CLIENT)]
    try:
        time.sleep(0.5)
        status, body = _get(url, "/health")
        assert status == 503 and b"too many connections" in body
        assert _get(url, "/health", source="127.0.0.2")[0] == 200
    finally:
        for sock in held:
            sock.close()

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.serve.api import MAX_BODY_BYTES, MAX_MESSAGES, create_api


@pytest.fixture
def client(make_engine):
    with TestClient(create_api(make_engine(max_new_tokens=32))) as client:
        yield client


def _ask(text: str, **fields) -> dict:
    return {"messages": [{"role": "user", "content": text}], **fields}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_chat_returns_text_poses_and_file_urls(client, tiny):
    response = client.post("/v1/chat", json=_ask(tiny.POSE_REQUEST))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["text"] == tiny.POSE_ANSWER and len(answer["poses"]) == 1
    pose = answer["poses"][0]
    rotmat = torch.tensor(pose["rotmat"])
    assert len(pose["axis_angle"]) == 72 and rotmat.shape == (24, 3, 3)
    assert torch.allclose(
        axis_angle_to_rotmat(torch.tensor(pose["axis_angle"]).view(24, 3)), rotmat, atol=1e-5
    )
    assert sorted(pose["files"]) == ["glb", "npz", "png"]
    for kind, url in pose["files"].items():
        assert url.startswith("http://testserver/files/") and url.endswith(f"/pose_0.{kind}")
        file = client.get(url)
        assert file.status_code == 200 and len(file.content) > 100
    glb, png, npz = (client.get(pose["files"][k]).content for k in ("glb", "png", "npz"))
    assert glb[:4] == b"glTF"
    assert Image.open(io.BytesIO(png)).format == "PNG"
    with np.load(io.BytesIO(npz)) as arrays:
        assert np.allclose(arrays["rotmat"], pose["rotmat"], atol=1e-6)


def test_chat_history_and_photo(client, tiny):
    history = [
        {"role": "user", "content": tiny.GREETING},
        {"role": "assistant", "content": tiny.GREETING_ANSWER},
        {"role": "user", "content": tiny.POSE_REQUEST},
    ]
    response = client.post("/v1/chat", json={"messages": history})
    assert response.status_code == 200 and response.json()["text"] == tiny.POSE_ANSWER
    photo = _b64(tiny.png_bytes(tiny.photo()))
    for image in (photo, f"data:image/png;base64,{photo}"):
        response = client.post("/v1/chat", json=_ask(tiny.PHOTO_QUESTION, image=image))
        assert response.status_code == 200 and len(response.json()["poses"]) == 1
    greeting = client.post("/v1/chat", json=_ask(tiny.GREETING, temperature=0.0, seed=3))
    assert greeting.json() == {"text": tiny.GREETING_ANSWER, "poses": []}


def test_health_and_openapi(client):
    health = client.get("/health").json()
    assert health == {"status": "ok", "model": "tiny", "pending": 0, "max_pending": 32}
    spec = client.get("/openapi.json").json()
    assert {"/v1/chat", "/health", "/files/{folder}/{name}"} <= set(spec["paths"])
    assert "ChatRequest" in spec["components"]["schemas"]


BAD_REQUESTS = {
    "empty prompt": (lambda t: _ask(""), 400),
    "100k-character prompt": (lambda t: _ask("x" * 100_000), 413),
    "not an image": (lambda t: _ask(t.PHOTO_QUESTION, image=_b64(b"GIF89a nonsense")), 400),
    "truncated image": (
        lambda t: _ask(t.PHOTO_QUESTION, image=_b64(t.png_bytes(t.photo())[:70])),
        400,
    ),
    "decompression bomb": (lambda t: _ask("x", image=_b64(t.png_bomb(20000, 20000))), 413),
    "bad base64": (lambda t: _ask("x", image="not base64!"), 400),
    "unknown field": (lambda t: _ask("x", stream=True), 422),
    "unknown message field": (
        lambda t: {"messages": [{"role": "user", "content": "x", "name": "me"}]},
        422,
    ),
    "bad role": (lambda t: {"messages": [{"role": "robot", "content": "x"}]}, 422),
    "no messages": (lambda t: {"messages": []}, 422),
    "too many messages": (
        lambda t: {"messages": [{"role": "user", "content": "x"}] * (MAX_MESSAGES + 1)},
        422,
    ),
    "content not text": (lambda t: {"messages": [{"role": "user", "content": 5}]}, 422),
    "last message not the user's": (
        lambda t: {"messages": [{"role": "assistant", "content": "x"}]},
        400,
    ),
    "image marker in history": (
        lambda t: {
            "messages": [
                {"role": "user", "content": "<image>"},
                {"role": "assistant", "content": "x"},
                {"role": "user", "content": "x"},
            ]
        },
        400,
    ),
    "too many tokens": (lambda t: _ask("x", max_new_tokens=10_000), 400),
    "temperature out of range": (lambda t: _ask("x", temperature=5), 422),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_requests_get_clear_errors(client, tiny, case):
    make, status = BAD_REQUESTS[case]
    response = client.post("/v1/chat", json=make(tiny))
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert client.get("/health").json()["pending"] == 0


@pytest.mark.parametrize(
    ("payload", "headers"),
    [
        (b'{"messages": [', {"content-type": "application/json"}),
        (b"\xff\xfe not json", {"content-type": "application/json"}),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', {"content-type": "text/plain"}),
        (b"[1, 2, 3]", {"content-type": "application/json"}),
    ],
)
def test_malformed_json_is_refused(client, payload, headers):
    response = client.post("/v1/chat", content=payload, headers=headers)
    assert response.status_code in (400, 422) and response.json()["detail"]


def test_oversized_bodies_are_refused(client):
    padding = "x" * MAX_BODY_BYTES
    response = client.post("/v1/chat", json=_ask("hi", image=padding))
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit applies while the body streams in
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY_BYTES // 2**20 + 1):
            yield b"x" * 2**20
        yield b'"}]}'

    streamed = client.post(
        "/v1/chat", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "path",
    [
        "/files/../../etc/passwd",
        "/files/%2e%2e/%2e%2e/etc/passwd",
        "/files/..%2f..%2fetc%2fpasswd",
        "/files/0123456789abcdef0123456789abcdef/..%2f..%2f..%2fetc%2fpasswd",
        "/files/0123456789abcdef0123456789abcdef/pose_0.npz",
        "/files/%2fetc/passwd",
    ],
)
def test_files_outside_the_store_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404 and b"root:" not in response.content

"""Bad requests get a 4xx with a clear message, never a 500."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from posegpt.chat_defaults import AnswerOptions
from posegpt.errors import InvalidInputError
from posegpt.serve.api import create_api


@pytest.fixture(scope="module")
def client(model, body, tmp_path_factory):
    from posegpt.serve.engine import ChatEngine

    engine = ChatEngine(model, body, tmp_path_factory.mktemp("out"), max_new_tokens=8)
    with TestClient(create_api(engine), raise_server_exceptions=False) as client:
        yield client


def _post_raw(client: TestClient, body: str):
    return client.post(
        "/v1/chat", content=body.encode("utf-8"), headers={"content-type": "application/json"}
    )


def _ask(text: str = "hello", extra: str = "") -> str:
    return '{"messages": [{"role": "user", "content": "' + text + '"}]' + extra + "}"


@pytest.mark.parametrize(
    "extra, words",
    [
        (', "temperature": NaN', "temperature"),
        (', "temperature": Infinity', "temperature"),
        (', "temperature": -Infinity', "temperature"),
        (f', "seed": {2**64}', "seed"),
        (f', "seed": {2**63}', "seed"),
        (f', "max_new_tokens": {2**70}', "max_new_tokens"),
    ],
)
def test_out_of_range_numbers_get_4xx(client, extra, words):
    response = _post_raw(client, _ask(extra=extra))
    assert 400 <= response.status_code < 500, response.text
    assert words in response.json()["detail"]


@pytest.mark.parametrize("text", ["\\ud800", "a\\udfffb", "\\udc00\\ud800"])
def test_lone_surrogates_get_400(client, text):
    response = _post_raw(client, _ask(text))
    assert response.status_code == 400, response.text
    assert "surrogate" in response.json()["detail"]


def test_lone_surrogate_in_history_gets_400(client):
    body = (
        '{"messages": [{"role": "user", "content": "\\ud83d"}, '
        '{"role": "assistant", "content": "hi"}, {"role": "user", "content": "hello"}]}'
    )
    response = _post_raw(client, body)
    assert response.status_code == 400, response.text


def test_valid_surrogate_pair_is_fine(client):
    response = _post_raw(client, _ask("hello \\ud83d\\ude00"))
    assert response.status_code == 200, response.text


def test_engine_refuses_bad_numbers_and_text(model, body, tmp_path):
    from posegpt.serve.engine import ChatEngine

    engine = ChatEngine(model, body, tmp_path)
    session = engine.new_session()
    for kwargs in ({"temperature": float("nan")}, {"seed": 2**64}, {"seed": -1}):
        with pytest.raises(InvalidInputError):
            engine.reply(session, "hello", **kwargs)
    with pytest.raises(InvalidInputError, match="surrogate"):
        engine.reply(session, "\ud800")
    with pytest.raises(InvalidInputError):
        ChatEngine(model, body, tmp_path, seed=2**64)
    with pytest.raises(InvalidInputError, match="repetition_penalty"):
        ChatEngine(model, body, tmp_path, options=AnswerOptions(repetition_penalty=float("nan")))
    assert model.pose_prior is None  # the tiny test model: refused at start, not per photo
    for refine in ("blend", "auto-blend"):
        with pytest.raises(InvalidInputError, match="fit-prior"):
            ChatEngine(model, body, tmp_path, options=AnswerOptions(refine=refine))


def test_elongated_picture_gets_400_not_a_huge_square(client, tiny):
    """A 100000x100 PNG of about a kilobyte: refused from its header, never padded to a square."""
    bomb = base64.b64encode(tiny.png_bomb(100_000, 100)).decode()
    response = client.post(
        "/v1/chat", json={"messages": [{"role": "user", "content": "hi"}], "image": bomb}
    )
    assert response.status_code == 400, response.text
    assert "20:1" in response.json()["detail"]

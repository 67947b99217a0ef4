"""Poses as input through the engine, the HTTP API and `posegpt chat --pose`: follow-ups read the
last answer's pose, users send poses, bad poses get clear errors."""

from __future__ import annotations

import json

import pytest
import torch
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from posegpt.body.io import save_pose
from posegpt.body.rotations import axis_angle_to_rotmat, rotmat_to_axis_angle
from posegpt.cli import app
from posegpt.data.formats import write_amass
from posegpt.errors import InvalidInputError, ModelFileError, TooLargeError
from posegpt.model.pose_input import MAX_INPUT_POSES
from posegpt.serve.api import create_api
from posegpt.serve.engine import ChatEngine


def _pose(seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return axis_angle_to_rotmat(torch.randn(24, 3, generator=generator) * 0.5)


@pytest.fixture
def spy(model, monkeypatch):
    """The messages and poses each `model.chat` call received."""
    calls = []
    chat = model.chat

    def recording(messages, *args, **kwargs):
        calls.append(([dict(m) for m in messages], kwargs.get("poses")))
        return chat(messages, *args, **kwargs)

    monkeypatch.setattr(model, "chat", recording)
    return calls


def test_a_follow_up_reads_the_last_answer_pose(make_engine, spy, tiny):
    engine = make_engine()
    session = engine.new_session()
    first = engine.reply(session, tiny.POSE_REQUEST)
    engine.reply(session, "now raise the left arm too")
    messages, _ = spy[-1]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert torch.equal(messages[1]["poses"][0], first.poses[0].rotmat)
    prepared, poses = engine.model.prepare(messages)
    assert prepared[2]["content"].startswith("<pose_in>")  # the answer's pose, read back
    assert torch.equal(poses[0], first.poses[0].rotmat)


def test_user_poses_in_any_form_and_bad_ones(make_engine, spy):
    engine = make_engine()
    pose = _pose(0)
    reply = engine.reply(
        engine.new_session(), "describe this pose", poses=[rotmat_to_axis_angle(pose).tolist()]
    )
    assert isinstance(reply.text, str)
    assert torch.allclose(spy[-1][0][-1]["poses"][0], pose, atol=1e-5)
    for bad, error in [
        ([[float("nan")] * 72], "NaN"),
        ([[0.0] * 70], "72"),
        ([torch.ones(24, 3, 3)], "not rotations"),
    ]:
        with pytest.raises(InvalidInputError, match=error):
            engine.reply(engine.new_session(), "describe", poses=bad)
    with pytest.raises(TooLargeError):
        engine.reply(engine.new_session(), "compare", poses=[pose] * (MAX_INPUT_POSES + 1))


def test_api_takes_poses_and_sends_answers_back(make_engine, tiny):
    client = TestClient(create_api(make_engine()))
    first = client.post(
        "/v1/chat", json={"messages": [{"role": "user", "content": tiny.POSE_REQUEST}]}
    )
    answer = first.json()
    follow_up = {
        "messages": [
            {"role": "user", "content": tiny.POSE_REQUEST},
            {
                "role": "assistant",
                "content": answer["text"],
                "poses": [answer["poses"][0]["axis_angle"]],
            },
            {
                "role": "user",
                "content": "now the other arm",
                "poses": [answer["poses"][0]["rotmat"]],
            },
        ]
    }
    assert client.post("/v1/chat", json=follow_up).status_code == 200
    bad = {"messages": [{"role": "user", "content": "describe", "poses": [[0.1] * 71]}]}
    response = client.post("/v1/chat", json=bad)
    assert response.status_code == 400 and "poses[0]" in response.json()["detail"]
    many = {"messages": [{"role": "user", "content": "x", "poses": [[0.0] * 72] * 9}]}
    assert client.post("/v1/chat", json=many).status_code == 422


def test_cli_chat_reads_pose_files(model_dir, tmp_path, monkeypatch):
    pose = _pose(1)
    ours = save_pose(tmp_path / "mine.json", pose)
    amass = write_amass(tmp_path / "seq.npz", torch.stack([_pose(2), pose]))
    sent = []
    reply = ChatEngine.reply

    def recording(self, session, text, image=None, **kwargs):
        sent.append(kwargs.get("poses"))
        return reply(self, session, text, image, **kwargs)

    monkeypatch.setattr(ChatEngine, "reply", recording)
    out = tmp_path / "out"
    args = ["chat", "--model", str(model_dir), "-p", "compare these poses", "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--pose", str(ours), "--pose", f"{amass}:1"])
    assert result.exit_code == 0, result.output
    first, second = sent[-1]
    assert torch.allclose(first, pose, atol=1e-5)
    assert torch.allclose(second[1:22], pose[1:22], atol=1e-4)  # AMASS keeps the body joints
    assert json.loads((out / "answer.json").read_text())["text"] is not None
    missing = CliRunner().invoke(app, [*args, "--pose", str(tmp_path / "no.npz")])
    assert isinstance(missing.exception, ModelFileError) and "no.npz" in str(missing.exception)

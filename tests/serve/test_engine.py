from __future__ import annotations

import os
import shutil
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from posegpt.body.io import load_mesh, load_pose
from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.errors import InvalidInputError, ModelFileError, TooLargeError
from posegpt.model import DEFAULT_MODEL_DIR, PACKAGED_MODELS, load_chat_model, load_pretrained
from posegpt.records import Message
from posegpt.serve.engine import ServerBusyError
from posegpt.serve.store import OutputStore


def test_multi_turn_with_pose_files(make_engine, body, tiny):
    engine = make_engine()
    session = engine.new_session()
    first = engine.reply(session, tiny.GREETING)
    assert first.text == tiny.GREETING_ANSWER and first.poses == []
    second = engine.reply(session, tiny.POSE_REQUEST)
    assert second.text == tiny.POSE_ANSWER and len(second.poses) == 1
    assert [m.role for m in session.history] == ["user", "assistant"] * 2
    pose = second.poses[0]
    assert pose.rotmat.shape == (24, 3, 3)
    assert torch.allclose(axis_angle_to_rotmat(pose.axis_angle.view(24, 3)), pose.rotmat, atol=1e-5)
    assert sorted(pose.files) == ["glb", "npz", "png"]
    assert all(
        path.parent == session.folder and path.stem == "pose_0" for path in pose.files.values()
    )
    assert torch.allclose(load_pose(pose.files["npz"]), pose.rotmat, atol=1e-6)
    with np.load(pose.files["npz"]) as npz:
        assert npz["pose"].shape == (72,) and npz["rotmat"].shape == (24, 3, 3)
    mesh = load_mesh(pose.files["glb"])
    expected = body(pose.rotmat[None]).vertices[0].detach().numpy()
    assert np.allclose(mesh.vertices, expected, atol=1e-5)
    with Image.open(pose.files["png"]) as picture:
        assert picture.size == (2 * engine.render_size, engine.render_size)
    third = engine.reply(session, tiny.POSE_REQUEST)  # numbering goes on: nothing is overwritten
    assert third.poses[0].files["npz"].name == "pose_1.npz"


def test_replies_are_deterministic(make_engine, tiny):
    engine = make_engine(temperature=1.5, seed=7)
    runs = []
    for _ in range(2):
        session = engine.new_session()
        runs.append([engine.reply(session, text) for text in (tiny.POSE_REQUEST, tiny.GREETING)])
    for a, b in zip(*runs, strict=True):
        assert a.text == b.text
        assert all(torch.equal(p.rotmat, q.rotmat) for p, q in zip(a.poses, b.poses, strict=True))


def test_photo_stays_with_the_session_until_reset(make_engine, model, tiny):
    engine = make_engine()
    session = engine.new_session()
    reply = engine.reply(session, tiny.PHOTO_QUESTION, tiny.png_bytes(tiny.photo()))
    assert reply.text == "<POSE>" and len(reply.poses) == 1
    assert torch.equal(session.image, model.preprocess(tiny.photo()))
    again = engine.reply(session, tiny.GREETING)  # the photo is still part of the conversation
    assert session.image is not None and session.image_turn == 0
    assert isinstance(again.text, str)
    session.reset()
    assert session.history == [] and session.image is None
    assert engine.reply(session, tiny.POSE_REQUEST).text == tiny.POSE_ANSWER


def test_history_is_bounded(make_engine, tiny):
    engine = make_engine(max_turns=2)
    session = engine.new_session()
    engine.reply(session, tiny.PHOTO_QUESTION, tiny.photo())
    for _ in range(3):
        engine.reply(session, tiny.GREETING)
    assert len(session.history) == 4
    assert session.image is not None and session.image_turn == 0  # moved to the first kept turn


def test_old_turns_are_dropped_to_fit_the_context(make_engine, model):
    engine = make_engine()
    long = "zq " * 25  # about 80 tokens: three such messages overflow the 256-token context
    history = [Message("user", long), Message("assistant", long)]
    session = engine.new_session(history=history)
    messages = [{"role": m.role, "content": m.content} for m in history]
    with pytest.raises(InvalidInputError):  # what the model says to the whole conversation
        model.chat([*messages, {"role": "user", "content": long}], max_new_tokens=64)
    assert isinstance(engine.reply(session, long).text, str)
    with pytest.raises(TooLargeError):  # one message alone does not fit
        engine.reply(engine.new_session(), "zq " * 70)


BAD_INPUT = {
    "empty": lambda t: ("", None, InvalidInputError),
    "blank": lambda t: ("   \n", None, InvalidInputError),
    "100k characters": lambda t: ("x" * 100_000, None, TooLargeError),
    "image marker": lambda t: ("<image> what pose?", None, InvalidInputError),
    "chat marker": lambda t: ("<|assistant|>", None, InvalidInputError),
    "not an image": lambda t: (t.PHOTO_QUESTION, b"this is not an image", InvalidInputError),
    "truncated image": lambda t: (
        t.PHOTO_QUESTION,
        t.png_bytes(Image.new("RGB", (64, 64), "red"))[:60],
        InvalidInputError,
    ),
    "over the engine's limit": lambda t: (t.PHOTO_QUESTION, t.png_bomb(5000, 5000), TooLargeError),
    "decompression bomb": lambda t: (t.PHOTO_QUESTION, t.png_bomb(20000, 20000), TooLargeError),
    "missing file": lambda t: (t.PHOTO_QUESTION, "/nonexistent/photo.png", InvalidInputError),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_is_refused(make_engine, tiny, case):
    text, image, error = BAD_INPUT[case](tiny)
    engine = make_engine()
    session = engine.new_session()
    start = time.perf_counter()
    with pytest.raises(error):
        engine.reply(session, text, image)
    assert time.perf_counter() - start < 1.0  # refused before any heavy work
    assert session.history == [] and engine.pending == 0


def test_excess_concurrent_replies_are_refused_quickly(make_engine, tiny):
    engine = make_engine(max_pending=1)
    barrier = threading.Barrier(6)
    outcomes = []

    def ask() -> None:
        session = engine.new_session()
        barrier.wait()
        try:
            outcomes.append(engine.reply(session, tiny.POSE_REQUEST).text)
        except ServerBusyError:
            outcomes.append("busy")

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 6 and "busy" in outcomes and tiny.POSE_ANSWER in outcomes
    assert set(outcomes) <= {"busy", tiny.POSE_ANSWER} and engine.pending == 0


def test_store_prunes_and_finds_only_its_own_files(tmp_path):
    store = OutputStore(tmp_path / "out", max_folders=2)
    folders = [store.reserve_folder() for _ in range(3)]
    assert not any(folder.exists() for folder in folders)  # nothing written, nothing made
    for age, folder in enumerate(folders):  # the first is the least recently written
        store.claim(folder)
        (folder / "pose_0.png").write_bytes(b"png")
        stamp = time.time() - 100 + age
        os.utime(folder, (stamp, stamp))
    store.reserve_folder()
    assert not folders[0].exists() and not folders[1].exists() and folders[2].exists()
    (tmp_path / "secret.png").write_bytes(b"secret")
    (folders[2] / "pose_1.png").symlink_to(tmp_path / "secret.png")
    assert store.find(folders[2].name, "pose_0.png") == (folders[2] / "pose_0.png").resolve()
    assert store.relative(folders[2] / "pose_0.png") == (folders[2].name, "pose_0.png")
    for folder, name in [
        (folders[2].name, "pose_1.png"),  # a link out of the folder
        (folders[2].name, "pose_2.png"),  # missing
        (folders[2].name, "../secret.png"),
        ("..", "secret.png"),
        (folders[2].name, "answer.json"),
        (folders[1].name, "pose_0.png"),  # pruned
    ]:
        assert store.find(folder, name) is None
    (tmp_path / "out" / "keep-me").mkdir()  # folders the store did not make are never pruned
    for _ in range(3):
        store.claim(store.reserve_folder())
    assert (tmp_path / "out" / "keep-me").is_dir()


def test_load_chat_model(model_dir, tmp_path):
    assert load_chat_model(model_dir).config.preset == "tiny"
    with pytest.raises(ModelFileError):
        load_chat_model(tmp_path / "missing")
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        with pytest.raises(ModelFileError, match="--model"):
            load_chat_model(None)


def test_packaged_models_load_by_name_and_a_local_folder_of_that_name_wins(
    model_dir, tmp_path, monkeypatch
):
    for name, folder in PACKAGED_MODELS.items():
        if (folder / "config.json").is_file():
            assert (
                load_chat_model(name).config.to_dict() == load_pretrained(folder).config.to_dict()
            )
    shutil.copytree(model_dir, tmp_path / "small")
    monkeypatch.chdir(tmp_path)
    assert load_chat_model("small").config.preset == "tiny"


def test_photo_answers_are_upright_and_agree_with_their_files(make_engine, tiny, body):
    """A photo answer's picture and mesh show exactly the pose in its npz (POSE_FRAME, y up),
    so re-rendering the file gives the same upright body."""
    from posegpt.body.io import load_mesh, load_pose

    engine = make_engine()
    reply = engine.reply(engine.new_session(), tiny.PHOTO_QUESTION, tiny.photo())
    files = reply.poses[0].files
    rotmat = load_pose(files["npz"])
    assert torch.allclose(rotmat, reply.poses[0].rotmat, atol=1e-6)
    with torch.no_grad():
        out = body(rotmat[None])
    mesh = load_mesh(files["glb"])
    assert np.allclose(mesh.vertices, out.vertices[0].numpy(), atol=1e-4)
    head, pelvis = out.joints[0, 15], out.joints[0, 0]
    assert head[1] > pelvis[1] + 0.3  # upright: the head above the pelvis
    with np.load(files["npz"]) as npz:
        assert str(npz["frame"]) == "y_up"

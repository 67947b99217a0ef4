"""The server's output folder: only its own folders are pruned, an unwritable one fails at
start, and the temporary one goes away on SIGTERM or at the next start after `kill -9`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from posegpt.errors import PoseGPTError
from posegpt.serve.api import create_api
from posegpt.serve.engine import ChatEngine
from posegpt.serve.store import MARKER, TEMP_PREFIX, OutputStore, sweep_stale_roots


def test_users_own_hex_named_folders_are_never_pruned(tmp_path):
    """`--out` pointing at a folder that holds the user's own 32-hex-named folders: the server
    prunes only the folders it made (marked), however many sessions come and go."""
    out = tmp_path / "out"
    mine = [out / uuid.uuid4().hex for _ in range(3)]
    for folder in mine:
        folder.mkdir(parents=True)
        (folder / "pose_0.png").write_bytes(b"the user's file")
    store = OutputStore(out, max_folders=2)
    for _ in range(6):
        folder = store.reserve_folder()
        store.claim(folder)
        (folder / "pose_0.png").write_bytes(b"png")
    assert all((folder / "pose_0.png").read_bytes() == b"the user's file" for folder in mine)
    assert len(list(out.glob(f"*/{MARKER}"))) == 2
    assert store.find(mine[0].name, "pose_0.png") is None  # and never served


def test_engine_claims_the_folders_it_writes(make_engine, tiny):
    engine = make_engine()
    session = engine.new_session()
    reply = engine.reply(session, tiny.POSE_REQUEST)
    assert (session.folder / MARKER).is_file() and reply.poses[0].files


def test_unwritable_output_folder_fails_at_start(model, body, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PoseGPTError, match="cannot write to the output folder"):
        ChatEngine(model, body, blocker / "out")


def test_server_side_errors_do_not_show_server_paths(model, body, tmp_path, tiny):
    root = tmp_path / "served-from-here"
    engine = ChatEngine(model, body, root)
    os.rmdir(root)
    root.write_text("the folder was replaced by a file")
    client = TestClient(create_api(engine), raise_server_exceptions=False)
    response = client.post(
        "/v1/chat", json={"messages": [{"role": "user", "content": tiny.POSE_REQUEST}]}
    )
    assert response.status_code == 500
    assert str(tmp_path) not in response.text and "server's log" in response.json()["detail"]


_HOLD_FOLDER = """
import sys, time
from posegpt.serve.store import temporary_root
with temporary_root() as folder:
    (folder / "pose_0.npz").write_bytes(b"pose")
    print(folder, flush=True)
    time.sleep(60)
"""


def test_temporary_folder_is_removed_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD_FOLDER], stdout=subprocess.PIPE, text=True
    )
    folder = Path(process.stdout.readline().strip())
    assert folder.name.startswith(f"{TEMP_PREFIX}{process.pid}-") and folder.is_dir()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert not folder.exists()


def test_stale_folders_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stale = tmp_path / f"{TEMP_PREFIX}{dead.stdout.strip()}-abcd"
    live = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-abcd"
    foreign = tmp_path / f"{TEMP_PREFIX}unknown"
    for folder in (stale, live, foreign):
        folder.mkdir()
        (folder / "pose_0.npz").write_bytes(b"pose")
    assert sweep_stale_roots(tmp_path) == [stale]
    assert not stale.exists() and live.is_dir() and foreign.is_dir()


def test_temporary_root_sweeps_at_start(monkeypatch, tmp_path):
    from posegpt.serve.store import temporary_root

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{TEMP_PREFIX}999999999-x"
    stale.mkdir()
    with temporary_root() as folder:
        assert folder.parent == tmp_path and not stale.exists()
    assert not folder.exists()

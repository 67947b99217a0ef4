"""First use of the body model: stdout stays clean, the one-time cache build says so."""

from __future__ import annotations

import subprocess
import sys

import anny
import torch

from posegpt.body import anny_body


def test_loading_the_body_model_prints_nothing():
    """Warp's greeting went to stdout and its CUDA warning to stderr on every command."""
    code = (
        "from posegpt.body import load_body_model\n"
        "from posegpt.body.rotations import identity_pose\n"
        "load_body_model()(identity_pose(1))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == ""
    assert "Warp" not in out.stderr and "CUDA" not in out.stderr


def test_first_cache_build_reports_start_and_end(tmp_path, monkeypatch, capsys):
    class FakeAnny:
        def __init__(self, rig: str) -> None:
            (tmp_path / "build_compact_model_data_x.safetensors").write_bytes(b"\0" * 2_000_000)

        def to(self, dtype: torch.dtype) -> FakeAnny:
            return self

    monkeypatch.setattr(anny.paths, "get_anny_cache_path", lambda: tmp_path)
    monkeypatch.setattr(anny, "Anny", FakeAnny)
    anny_body._build_anny()
    err = capsys.readouterr().err
    assert f"building the anny body-model cache in {tmp_path}" in err
    assert "about 1000 MB" in err and "cache built in" in err and "(2 MB)" in err
    anny_body._build_anny()  # built: silent
    assert capsys.readouterr().err == ""

"""Files posegpt writes get the permissions the user's umask asks for."""

from __future__ import annotations

import os

import pytest

from posegpt.files import atomic_write_text, current_umask


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        assert current_umask() == umask
        path = atomic_write_text(tmp_path / "answer.json", "{}")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == mode

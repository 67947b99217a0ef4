"""The `posegpt` command line as a whole."""

from __future__ import annotations

import subprocess
import sys

import posegpt.body


def test_cli_starts_without_torch():
    """`posegpt --help` must be quick: no sub-command imports torch (or anny) at load time."""
    code = "import sys, posegpt.cli; print(sorted({'torch', 'anny'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_body_package_names_load_on_use():
    assert posegpt.body.AnnyBody.__name__ == "AnnyBody"
    assert issubclass(posegpt.body.SmplBody, posegpt.body.BodyModel)
    try:
        posegpt.body.NoSuchBody  # noqa: B018
    except AttributeError as err:
        assert "NoSuchBody" in str(err)
    else:
        raise AssertionError("unknown names must raise AttributeError")

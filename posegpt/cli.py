"""The `posegpt` command line: one sub-command group per stage."""

from __future__ import annotations

import sys

import typer

from posegpt.body.cli import app as body_app
from posegpt.errors import PoseGPTError

app = typer.Typer(
    help="posegpt: chat about 3D human pose.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(body_app, name="body")


def main() -> None:
    """Entry point: run the CLI, reporting posegpt errors as one line on stderr (exit 2)."""
    try:
        app()
    except PoseGPTError as err:
        print(f"posegpt: error: {err}", file=sys.stderr)
        sys.exit(2)

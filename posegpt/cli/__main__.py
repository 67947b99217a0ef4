"""`python -m posegpt.cli`: the same as the `posegpt` command."""

from posegpt.cli import main

main()

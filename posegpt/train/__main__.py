"""`python -m posegpt.train ARGS` runs `posegpt train ARGS` (for `accelerate launch -m`)."""

import sys

from posegpt.cli import main

sys.argv[1:1] = ["train"]
main()

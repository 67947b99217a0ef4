"""Training: `train(TrainConfig) -> TrainResult` (posegpt.train.loop), configs from YAML
(posegpt.train.config), checkpoints, metrics. The `posegpt train` command is in posegpt.cli.train.

Kept import-free so that `posegpt.train.tcmalloc` can re-execute the process before the heavy
imports: import from the submodules.
"""

"""Validation during training: cross-entropy, pose L1 and geodesic joint error, over all
processes (each evaluates its share of the items; the sums are added up)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

import torch
from accelerate import Accelerator

from posegpt.body.rotations import geodesic_distance
from posegpt.model import IGNORE_INDEX


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    batches: Iterable[Mapping[str, torch.Tensor]],
    accelerator: Accelerator,
    loss: Callable[[float, float], float],
) -> dict[str, float]:
    """`val_loss` (`loss(val_ce, val_pose_l1)`, the training objective), `val_ce` (per answer
    token), `val_pose_l1` (per rotation-matrix entry) and `val_geodesic_deg` (mean joint rotation
    error in degrees) over `batches`."""
    was_training = model.training
    model.eval()
    # sums: CE x tokens, tokens, |R - R*| summed, entries, geodesic radians summed, joints
    sums = torch.zeros(6, dtype=torch.float64, device=accelerator.device)
    for batch in batches:
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        out = model(batch)
        tokens = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        pred, target = out.pred_rotmat.float(), batch["pose_targets"].float()
        sums += torch.tensor(
            [
                float(out.ce_loss) * tokens if tokens else 0.0,
                tokens,
                float((pred - target).abs().sum()),
                target.numel(),
                float(geodesic_distance(pred, target).sum()),
                target.shape[0] * target.shape[1],
            ],
            dtype=torch.float64,
            device=accelerator.device,
        )
    sums = accelerator.reduce(sums, reduction="sum")
    model.train(was_training)
    ce = float(sums[0] / sums[1]) if sums[1] else math.nan
    l1 = float(sums[2] / sums[3]) if sums[3] else math.nan
    return {
        "val_loss": loss(ce, 0.0 if math.isnan(l1) else l1),
        "val_ce": ce,
        "val_pose_l1": l1,
        "val_geodesic_deg": math.degrees(float(sums[4] / sums[5])) if sums[5] else math.nan,
    }

"""Forward kinematics on the SMPL-24 tree: local joint rotations + rest joints -> posed joints."""

from __future__ import annotations

import functools

import torch

from posegpt.body.skeleton import NUM_JOINTS, PARENTS


@functools.cache
def kinematic_levels() -> tuple[list[int], list[tuple[slice, list[int]]], list[int]]:
    """Forward-kinematics schedule over the joints sorted by depth in the tree ("level order").

    Returns the level order; for each level below the root, its slice of the level order and
    where its joints' parents stand in the level above; and where each joint stands in the
    level order.
    """
    depth = [0] * NUM_JOINTS
    for j in range(1, NUM_JOINTS):
        depth[j] = depth[PARENTS[j]] + 1
    order = sorted(range(NUM_JOINTS), key=depth.__getitem__)
    steps = []
    for d in range(1, max(depth) + 1):
        above = [j for j in order if depth[j] == d - 1]
        level = [j for j in order if depth[j] == d]
        start = order.index(level[0])
        steps.append((slice(start, start + len(level)), [above.index(PARENTS[j]) for j in level]))
    return order, steps, [order.index(j) for j in range(NUM_JOINTS)]


def forward_kinematics(
    rotmat: torch.Tensor, j_rest: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Global rotations (B, 24, 3, 3) and posed joint positions (B, 24, 3) of local rotations
    (B, 24, 3, 3) on a skeleton whose rest joints are `j_rest` (B, 24, 3); the root stays put."""
    order, fk_steps, unsort = kinematic_levels()
    batch = rotmat.shape[0]
    bones = torch.cat([j_rest[:, :1], j_rest[:, 1:] - j_rest[:, list(PARENTS[1:])]], dim=1)
    # Transforms to the parent as 4x4 matrices, in level order.
    local = torch.cat([rotmat, bones[..., None]], dim=-1)[:, order]
    bottom = torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=local.dtype, device=local.device)
    local = torch.cat([local, bottom.expand(batch, NUM_JOINTS, 1, 4)], dim=-2)
    levels = [local[:, :1, :3]]  # world transforms (3x4) of each level
    for joints, parents in fk_steps:
        levels.append(levels[-1][:, parents] @ local[:, joints])
    world = torch.cat(levels, dim=1)[:, unsort]
    return world[..., :3], world[..., 3]

"""Batching encoded conversations for `PoseGPT.forward`.

A sample is a mapping with
  - `input_ids`, `labels`: (T,) int64 from `encode_conversation` (image tokens expanded);
  - `pixel_values`: (3, S, S) float32 from `preprocess_image`, only if the conversation holds an
    `<image>`;
  - `poses`: (P, 24, 3, 3) float32 rotation matrices, one per `<POSE>` in the labels, in order
    (may be omitted when the answer holds no `<POSE>`);
  - `input_poses`: (Q, 24, 3, 3) float32, one per `<pose_in>` of the user messages, in order
    (may be omitted when there is none).

As a DataLoader `collate_fn`, bind the ids: `model.collate_fn` is
`functools.partial(collate, pad_id=..., pose_token_id=...)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.nn.utils.rnn import pad_sequence

from posegpt.body.skeleton import NUM_JOINTS
from posegpt.errors import InvalidInputError
from posegpt.model.chat_format import IGNORE_INDEX


def collate(
    batch: Sequence[Mapping[str, Any]], pad_id: int, pose_token_id: int
) -> dict[str, torch.Tensor]:
    """Right-pad a list of samples into one batch.

    Returns `input_ids`, `attention_mask`, `labels` (B, L) padded with pad_id / 0 / IGNORE_INDEX;
    `pose_mask` (B, L) bool, True at the assistant `<POSE>` positions; `pose_targets`
    (N, 24, 3, 3), the targets of those positions in row-major order (sample by sample, left to
    right); `input_poses` (Q, 24, 3, 3), the input poses in the same order; and `pixel_values`
    (M, 3, S, S), the images of the samples that have one, in batch order, present only when
    M > 0.
    """
    if not batch:
        raise InvalidInputError("cannot collate an empty batch")
    input_ids = pad_sequence(
        [s["input_ids"] for s in batch], batch_first=True, padding_value=pad_id
    )
    labels = pad_sequence(
        [s["labels"] for s in batch], batch_first=True, padding_value=IGNORE_INDEX
    )
    attention_mask = pad_sequence(
        [torch.ones_like(s["input_ids"]) for s in batch], batch_first=True, padding_value=0
    )
    pose_mask = labels == pose_token_id
    targets = []
    for i, sample in enumerate(batch):
        poses = torch.as_tensor(sample.get("poses", torch.empty(0, NUM_JOINTS, 3, 3)))
        if poses.shape[1:] != (NUM_JOINTS, 3, 3) or len(poses) != int(pose_mask[i].sum()):
            raise InvalidInputError(
                f"sample {i}: {int(pose_mask[i].sum())} <POSE> tokens in the answer need as many "
                f"(24, 3, 3) poses, got shape {tuple(poses.shape)}"
            )
        targets.append(poses.float())
    empty = torch.empty(0, NUM_JOINTS, 3, 3)
    inputs = [torch.as_tensor(s.get("input_poses", empty)).float() for s in batch]
    out = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": labels,
        "pose_mask": pose_mask,
        "pose_targets": torch.cat(targets),
        "input_poses": torch.cat(inputs),
    }
    images = [s["pixel_values"] for s in batch if s.get("pixel_values") is not None]
    if images:
        out["pixel_values"] = torch.stack(images).float()
    return out

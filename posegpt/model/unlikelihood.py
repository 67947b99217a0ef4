"""Token-level unlikelihood against an answer repeating its own words (Welleck et al., "Neural
Text Generation with Unlikelihood Training", ICLR 2020), restricted to each answer.

Cross-entropy alone taught the model to copy: asked for three standing poses it says "standing
relaxed" three times (`benchmarks/bench_multi_pose.py`), though no training answer repeats a
pose. At each answer position this loss lowers the probability of the tokens the same answer
already holds, other than the true next token.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from posegpt.model.chat_format import IGNORE_INDEX


def repetition_unlikelihood(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over answer positions of -sum log(1 - p(c)), c over the tokens that the same answer
    (a run of labelled positions) holds before the position, except the true next token.

    `logits` (N, vocab) are `PoseGPT.forward`'s: one row per position whose next token is a
    label, in order; `labels` (B, T) the batch's.
    """
    targets = labels[:, 1:]
    keep = targets != IGNORE_INDEX
    if int(keep.sum()) != len(logits):
        raise ValueError(f"{len(logits)} logit rows for {int(keep.sum())} labelled positions")
    if not len(logits):
        return logits.sum()
    starts = keep & ~F.pad(keep[:, :-1], (1, 0), value=False)  # the first position of an answer
    run = starts.flatten().cumsum(0).view_as(keep)[keep] - 1  # (N,) which answer
    first = starts[keep].nonzero()[:, 0]  # (answers,) where each begins among the N rows
    said = F.one_hot(targets[keep], logits.shape[-1]).to(logits.dtype)
    before = said.cumsum(0) - said  # tokens at earlier rows
    candidates = ((before - before[first][run]) > 0) & (said == 0)
    p = logits.float().softmax(-1)
    penalty = -torch.log((1 - p).clamp_min(1e-5)) * candidates
    return penalty.sum(-1).mean()

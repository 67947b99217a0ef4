"""The body-part requests benchmark: the true poses pass, other poses mostly do not."""

import numpy as np
import torch

from posegpt.body import load_body_model
from posegpt.eval.part_requests import chance, part_items, pose_codes, score_parts
from posegpt.synth.poses import PoseGenerator


class _Answers:
    """A method that answers every request with the given poses, in order, and no words."""

    name, chats = "fixed", False

    def __init__(self, poses: torch.Tensor):
        self.poses = poses

    def predict_text(self, texts, prompts=None):
        return self.poses[: len(texts)]


def test_true_poses_satisfy_their_requests_and_other_poses_rarely_do():
    body = load_body_model()
    generator = PoseGenerator(4, body=body)
    poses = torch.stack([generator.sample().rotmat for _ in range(40)])
    codes = pose_codes(poses, body)
    items = part_items(codes, 30, seed=0)
    assert 20 <= len(items) <= 30 and len({i.text for i in items}) > 15
    rows = [i.row for i in items]
    assert rows == sorted(set(rows))  # one request per pose, in order
    assert score_parts(_Answers(poses[rows]), items, body) == {
        "satisfied": 100.0,
        "one_pose": 100.0,
    }
    shuffled = poses[np.roll(rows, 1)]
    assert score_parts(_Answers(shuffled), items, body)["satisfied"] < 40.0
    assert chance(items, codes)["satisfied"] < 40.0
    assert part_items(codes, 30, seed=0) == items  # seeded

"""Baselines benchmarked side by side with posegpt, all behind the `Method` interface.

- `MeanPose`: the mean training pose (text and image tasks);
- `NearestCaption`: the training pose whose text is closest to the request (MiniLM);
- `NearestRequest`: the same over the training requests in everyday words;
- `NearestFamily`: the template of the pose family whose phrase is closest (no training);
- `TextRegressor`: PoseScript-style MLP on MiniLM embeddings -> 6D -> rotations;
- `CropRegressor`: HMR-style small CNN on person crops -> 6D -> rotations;
- `KeypointFit`: the paper's "-S" pipeline, keypoints written as text then an SMPLify-style fit;
- `LandmarkFit`: BlazePose (the pose tower's detector) + an SMPL fit to its world landmarks;
- `LargestPerson(m)`: RPE with an oracle detector, `m` reading the largest person's crop.
"""

from __future__ import annotations

from posegpt.body.base import BodyModel
from posegpt.eval.baselines.base import IMAGE_TASKS, TEXT_TASKS, Budget, Method
from posegpt.eval.baselines.crop import CropRegressor, LargestPerson
from posegpt.eval.baselines.keypoints import KeypointFit
from posegpt.eval.baselines.landmark_fit import LandmarkFit
from posegpt.eval.baselines.mean_pose import MeanPose
from posegpt.eval.baselines.text import (
    NearestCaption,
    NearestFamily,
    NearestRequest,
    TextRegressor,
)
from posegpt.model.text_embedder import SentenceEmbedder

__all__ = [
    "IMAGE_TASKS",
    "TEXT_TASKS",
    "Budget",
    "CropRegressor",
    "KeypointFit",
    "LandmarkFit",
    "LargestPerson",
    "MeanPose",
    "Method",
    "NearestCaption",
    "NearestFamily",
    "NearestRequest",
    "TextRegressor",
    "make_baselines",
]


def make_baselines(body: BodyModel, embedder: SentenceEmbedder, budget: Budget) -> list[Method]:
    """Every baseline, unfitted, sharing one sentence embedder and one training budget. The
    largest-person variants wrap (and share the training of) the image baselines."""
    crop, keypoints = CropRegressor(budget), KeypointFit(body, budget)
    landmarks = LandmarkFit(body, budget.fit_steps)
    return [
        MeanPose(),
        NearestCaption(embedder),
        NearestRequest(embedder),
        NearestFamily(embedder),
        TextRegressor(embedder, budget),
        crop,
        LargestPerson(crop),
        keypoints,
        LargestPerson(keypoints),
        landmarks,
        LargestPerson(landmarks),
    ]

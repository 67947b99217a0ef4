"""Baselines: each does at least what it should on data where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import roma
import torch
from PIL import Image

from posegpt.body import load_body_model
from posegpt.body.prior import GaussianPosePrior
from posegpt.body.rotations import geodesic_distance
from posegpt.errors import InvalidInputError
from posegpt.eval.baselines import (
    Budget,
    CropRegressor,
    LargestPerson,
    MeanPose,
    NearestCaption,
    NearestFamily,
    NearestRequest,
    TextRegressor,
)
from posegpt.eval.baselines.keypoints import keypoints_to_text, text_to_keypoints
from posegpt.eval.baselines.mean_pose import mean_rotation
from posegpt.eval.baselines.smplify import (
    crop_camera,
    fit_pose_to_keypoints2d,
    project,
)
from posegpt.eval.items import ImageSet, LazyImages, TextSet, TrainData
from posegpt.eval.metrics import pose_errors
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.poses import PoseGenerator, check_family, template_pose

#: Four families, with training captions and paraphrases never seen in training.
CAPTIONS = {
    "reaching_up": (
        ["A person raises both arms straight above the head.", "Arms stretched up high."],
        "Both hands are lifted high over the head.",
    ),
    "kneeling_one_knee": (
        ["Someone kneels on the ground on one knee.", "A person down on one knee."],
        "He is kneeling down with a single knee on the floor.",
    ),
    "sitting_chair": (
        ["A person sits on a chair with hands on the knees.", "Seated on a chair."],
        "She is seated, her hands resting on her knees.",
    ),
    "bending_forward": (
        ["A person bends forward to touch the toes.", "Bent over at the waist."],
        "Folding over at the hips to reach the feet.",
    ),
}


def family_pose(name: str) -> torch.Tensor:
    return template_pose(check_family(name))[0]


def caption_pairs() -> tuple[TextSet, TextSet]:
    """Training pairs (two captions per family) and held-out paraphrases."""
    texts, poses, queries, targets = [], [], [], []
    for family, (captions, paraphrase) in CAPTIONS.items():
        pose = family_pose(family)
        texts += captions
        poses += [pose] * len(captions)
        queries.append(paraphrase)
        targets.append(pose)
    return TextSet(texts, torch.stack(poses)), TextSet(queries, torch.stack(targets))


def test_mean_rotation_is_the_rotation_mean():
    axis = torch.zeros(2, 24, 3)
    axis[0, 5, 0], axis[1, 5, 0] = 0.7, -0.7  # +-0.7 rad about x at one joint
    mean = mean_rotation(roma.rotvec_to_rotmat(axis))
    assert torch.allclose(mean, torch.eye(3).expand(24, 3, 3), atol=1e-6)
    pose = family_pose("waving")
    assert torch.allclose(mean_rotation(pose[None]), pose, atol=1e-5)
    baseline = MeanPose()
    baseline.fit(TrainData(text=TextSet(["a", "b"], roma.rotvec_to_rotmat(axis))))
    assert baseline.predict_text(["x", "y", "z"]).shape == (3, 24, 3, 3)
    with pytest.raises(InvalidInputError, match="no image"):
        baseline.predict_image([Image.new("RGB", (8, 8))])


def test_nearest_caption_finds_the_pose_of_a_paraphrase():
    train, queries = caption_pairs()
    baseline = NearestCaption()
    baseline.fit(TrainData(text=train), progress=False)
    pred = baseline.predict_text(queries.texts)
    assert torch.allclose(pred, queries.poses)  # exactly the paraphrased training pose


def test_nearest_request_searches_the_requests_and_needs_them():
    captions, queries = caption_pairs()
    requests = TextSet(list(queries.texts), queries.poses.flip(0))  # other poses for the words
    baseline = NearestRequest()
    assert not baseline.can_fit(TrainData(text=captions))
    assert baseline.can_fit(TrainData(text=captions, requests=requests))
    baseline.fit(TrainData(text=captions, requests=requests), progress=False)
    assert torch.equal(baseline.predict_text(queries.texts), requests.poses)  # not the captions'
    with pytest.raises(InvalidInputError, match="one-pose requests"):
        NearestRequest().fit(TrainData(text=captions), progress=False)


def test_nearest_family_answers_with_the_template_of_the_family_the_words_mean():
    baseline = NearestFamily()
    assert baseline.can_fit(TrainData())  # nothing to learn
    with pytest.raises(InvalidInputError, match="fit the nearest-family baseline first"):
        baseline.predict_text(["Lie down."])
    baseline.fit(TrainData(), progress=False)
    stomach, squat = (
        template_pose(FAMILY_INFO[n])[0] for n in ("sleeping_on_stomach", "squatting")
    )
    pred = baseline.predict_text(["Get down flat on your belly.", "gimme a squat real quick"])
    assert torch.equal(pred[0], stomach)
    assert torch.equal(pred[1], squat)


def test_text_regressor_beats_the_mean_pose_on_paraphrases():
    train, queries = caption_pairs()
    data = TrainData(text=train, text_val=queries)
    regressor = TextRegressor(budget=Budget(epochs=60, batch_size=4, lr=3e-3))
    regressor.fit(data, progress=False)
    mean = MeanPose()
    mean.fit(data)

    def error(method) -> float:
        return float(geodesic_distance(method.predict_text(queries.texts), queries.poses).mean())

    assert error(regressor) < 0.6 * error(mean)
    assert regressor.history[-1]["loss"] < regressor.history[0]["loss"]


def coloured_crops(n: int, seed: int) -> tuple[list[Image.Image], torch.Tensor]:
    """Crops whose colour tells the pose: red -> waving, blue -> squatting."""
    rng = np.random.default_rng(seed)
    images, poses = [], []
    for k in range(n):
        red = k % 2 == 0
        pixels = rng.integers(0, 60, (32, 32, 3), dtype=np.uint8)
        pixels[8:24, 8:24, 0 if red else 2] = 230
        images.append(Image.fromarray(pixels))
        poses.append(family_pose("waving" if red else "squatting"))
    return images, torch.stack(poses)


def image_set(images: list[Image.Image], poses: torch.Tensor) -> ImageSet:
    return ImageSet(LazyImages([lambda im=im: im for im in images]), poses)


def test_crop_regressor_learns_what_the_crops_show_and_largest_person_crops():
    train = image_set(*coloured_crops(24, seed=0))
    val_images, val_poses = coloured_crops(8, seed=1)
    regressor = CropRegressor(Budget(epochs=15, batch_size=8, lr=3e-3, image_size=32))
    regressor.fit(TrainData(crops=train, crops_val=image_set(val_images, val_poses)), False)
    pred = regressor.predict_image(val_images)
    mean = mean_rotation(train.poses).expand(len(val_poses), -1, -1, -1)
    assert (
        geodesic_distance(pred, val_poses).mean() < 0.5 * geodesic_distance(mean, val_poses).mean()
    )

    # A picture holding a small blue person box and a large red one: the wrapper reads the red.
    picture = np.zeros((96, 96, 3), dtype=np.uint8)
    picture[:, :, 2] = 0
    picture[4:68, 4:68] = np.asarray(val_images[0].resize((64, 64)))  # red crop, 64 px
    picture[70:94, 70:94] = np.asarray(val_images[1].resize((24, 24)))  # blue crop, 24 px
    largest = LargestPerson(regressor)
    boxes = [(70.0, 70.0, 94.0, 94.0), (4.0, 4.0, 68.0, 68.0)]
    pose = largest.predict_image([Image.fromarray(picture)], people=[boxes])[0]
    assert (
        geodesic_distance(pose, val_poses[0]).mean() < geodesic_distance(pose, val_poses[1]).mean()
    )
    with pytest.raises(InvalidInputError):
        largest.predict_image([Image.fromarray(picture)])


def test_keypoints_survive_the_text_round_trip_with_quantisation():
    rng = np.random.default_rng(0)
    keypoints = np.concatenate([rng.uniform(0, 1, (17, 2)), np.ones((17, 1))], axis=1)
    keypoints[3, 2] = 0.0  # not visible: not written
    keypoints[4, :2] = (1.4, -0.2)  # outside the crop: clipped
    text = keypoints_to_text(keypoints)
    assert "left ear" not in text and "nose: (" in text
    back = text_to_keypoints(text)
    assert back[3, 2] == 0.0 and (back[np.arange(17) != 3, 2] == 1.0).all()
    assert np.abs(back[4, :2] - (1.0, 0.0)).max() < 1e-6
    seen = [i for i in range(17) if i not in (3, 4)]
    assert np.abs(back[seen, :2] - keypoints[seen, :2]).max() <= 0.005 + 1e-6
    assert text_to_keypoints("I cannot see anyone.")[:, 2].sum() == 0


@pytest.mark.slow
def test_keypoint_fit_recovers_a_pose_from_its_own_keypoints():
    body = load_body_model()
    upright = torch.diag(torch.tensor([1.0, -1.0, -1.0]))  # y-up -> camera frame, facing it

    def camera_frame(samples) -> torch.Tensor:
        rotmat = torch.stack([s.rotmat for s in samples]).clone()
        rotmat[:, 0] = upright @ rotmat[:, 0]
        return rotmat

    prior = GaussianPosePrior.fit(
        camera_frame(PoseGenerator(seed=1, random_yaw=False, body=body).sample_many(96))
    )
    truth = camera_frame(
        PoseGenerator(seed=2, families=("waving", "walking", "t_pose", "lunging"), body=body,
                      random_yaw=False).sample_many(4)
    )  # fmt: skip
    camera = crop_camera()
    with torch.no_grad():
        keypoints = project(
            body(truth).keypoints3d[:, :17] + torch.tensor([0.0, 0.1, 25.0]), camera
        )
    fit = fit_pose_to_keypoints2d(keypoints, camera, body, prior, steps=90)
    assert fit.error_px.max() < 6.0  # of a 224-pixel crop
    fitted = pose_errors(fit.rotmat, truth, body)["pa_mpjpe"].mean()
    mean = pose_errors(prior.mean_pose().expand(4, -1, -1, -1), truth, body)["pa_mpjpe"].mean()
    assert fitted < 0.6 * mean
    assert torch.allclose(fit.transl[:, 2], torch.full((4,), 25.0), rtol=0.15)
    with pytest.raises(InvalidInputError):
        fit_pose_to_keypoints2d(keypoints[:, :5], camera, body, prior)

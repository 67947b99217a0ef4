from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import roma
import torch
from PIL import Image

from posegpt.body.rotations import camera_to_y_up
from posegpt.data.conversations import most_detailed
from posegpt.data.dataset import TASK_LOADERS, TASKS, PoseDataset, face_forward
from posegpt.data.formats import (
    HmrData,
    coco17_to_hmr24,
    write_hmr,
    write_llava,
    write_posescript,
)
from posegpt.data.templates import POSE_DESCRIBE_QUESTIONS
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.records import POSE_INPUT_TOKEN, POSE_TOKEN, Conversation, Message, Task


def yawed(n: int, seed: int = 0) -> torch.Tensor:
    """Upright poses facing random directions (random body joints, root = a turn about y)."""
    torch.manual_seed(seed)
    rotmat = roma.random_rotmat((n, 24))
    rotmat[:, 0] = roma.rotvec_to_rotmat(torch.rand(n, 1) * 6 * torch.tensor([[0.0, 1.0, 0.0]]))
    return rotmat


def test_face_forward_turns_bodies_to_face_z():
    out = face_forward(yawed(6))
    assert torch.allclose(out[:, 0], torch.eye(3).expand(6, 3, 3), atol=1e-5)
    lying = roma.rotvec_to_rotmat(torch.tensor([[-np.pi / 2, 0, 0], [0, 1.0, 0]]))
    lying = roma.rotvec_to_rotmat(torch.tensor([[0, 0.7, 0.0]])) @ lying[:1]
    pose = torch.eye(3).repeat(1, 24, 1, 1)
    pose[:, 0] = lying
    head = face_forward(pose)[0, 0] @ torch.tensor([0.0, 1.0, 0.0])
    assert head[0].abs() < 1e-5 and head[2] > 0.99  # face up: the head points to +z


def small_dataset(root: Path) -> None:
    """A dataset folder written with the format writers: 6 text poses, 3 people, 2 SPG and
    2 instruction conversations (all splits)."""
    poses = yawed(6, seed=1)
    write_posescript(
        root / "text2pose",
        poses,
        {i: f"human {i}" for i in range(6)},
        {i: [f"auto {i}"] for i in range(6)},
        {"train": [0, 1, 2, 3], "val": [4], "test": [5]},
    )
    image = np.zeros((80, 80, 3), dtype=np.uint8)
    image[:, 40:] = 255
    (root / "images/scenes").mkdir(parents=True)
    Image.fromarray(image).save(root / "images/scenes/a.png")
    hmr = HmrData(
        imgname=np.array(["scenes/a.png"] * 3),
        center=np.array([[40, 40], [20, 20], [60, 60]], dtype=np.float32),
        scale=np.array([0.2, 0.1, 0.1], dtype=np.float32),
        pose=yawed(3, seed=2),
        shape=np.zeros((3, 10), dtype=np.float32),
        part=coco17_to_hmr24(np.zeros((3, 17, 3))),
        extras={
            "description_outfit": np.array(["the man in red", "the woman in blue", ""]),
            "description_shape": np.array(["the tall man", "the short woman", "the child"]),
            "absent_description": np.array(["the person who is lying on the back", "", ""]),
        },
    )
    write_hmr(root / "image2pose/train.npz", hmr)
    spg = Conversation(
        [Message("user", "Pose of someone praying?"), Message("assistant", f"{POSE_TOKEN}.")],
        [torch.eye(3).repeat(24, 1, 1)],
        task="speculative",
    )
    chat = Conversation(
        [Message("user", "<image>\nHow many?"), Message("assistant", "Three.")],
        image="scenes/a.png",
    )
    write_llava(root / "speculative/train.json", [spg, spg])
    write_llava(root / "instructions/train.json", [chat, chat])
    describe = Conversation(
        [Message("user", f"{POSE_INPUT_TOKEN}\nDescribe this pose."), Message("assistant", "Up.")],
        task="pose_input",
        input_poses=[torch.eye(3).repeat(24, 1, 1)],
    )
    write_llava(root / "pose_input/train.json", [describe])


def test_dataset_reads_every_task(tmp_path):
    small_dataset(tmp_path)
    dataset = PoseDataset(tmp_path, "train", seed=0, canonical_yaw=True)
    assert dataset.sizes == {
        "text2pose": 4,
        "image2pose": 3,
        "rpe": 6,  # two kinds x three rows, less one empty description, and one absent
        "speculative": 2,
        "instruction": 2,
        "pose_input": 1,
        "pose2text": 4,  # the text->pose pairs read the other way
    }
    assert len(dataset) == 22
    tasks = [dataset[i].task for i in range(len(dataset))]
    assert (
        tasks
        == ["text2pose"] * 4
        + ["image2pose"] * 3
        + ["rpe"] * 6
        + ["speculative"] * 2
        + ["instruction"] * 2
        + ["pose_input"]
        + ["pose2text"] * 4
    )
    assert torch.allclose(dataset[17].input_poses[0], torch.eye(3).repeat(24, 1, 1), atol=1e-5)
    described = dataset[18]
    assert described.poses == [] and len(described.input_poses) == 1
    assert torch.allclose(described.input_poses[0], dataset[0].poses[0], atol=1e-6)
    question, answer = (m.content for m in described.messages)
    assert question.removeprefix(f"{POSE_INPUT_TOKEN}\n") in POSE_DESCRIBE_QUESTIONS
    assert answer == "human 0"  # the same pose's most detailed (longest) text
    assert all(dataset[i].messages[1].content.startswith("human ") for i in range(18, 22))
    text = dataset[0]
    assert text.poses[0].shape == (24, 3, 3)
    assert torch.allclose(text.poses[0][0], torch.eye(3), atol=1e-5)  # turned to face +z
    assert any(w in text.messages[0].content for w in ("Human 0", "Auto 0"))
    crop = dataset[4]
    assert crop.image == "images/scenes/a.png" and crop.meta["crop_box"] == (20.0, 20.0, 60.0, 60.0)
    picture = dataset.load_image(crop)
    assert picture.size == (40, 40)
    pixels = np.asarray(picture)
    assert pixels[:, :20].max() == 0 and pixels[:, 21:].min() == 255  # the crop's right half
    rpe = dataset[7]
    assert rpe.task == "rpe" and rpe.image == "images/scenes/a.png"
    assert "the man in red" in rpe.messages[0].content
    absent = [dataset[i] for i in range(7, 13) if dataset[i].meta["kind"] == "absent"]
    assert len(absent) == 1 and absent[0].poses == []  # answered in words, no pose
    assert "lying on the back" in absent[0].messages[0].content
    assert POSE_TOKEN not in absent[0].messages[1].content
    assert dataset.load_image(dataset[16]).size == (80, 80)
    assert dataset[0].messages == PoseDataset(tmp_path, "train", seed=0)[0].messages
    val = PoseDataset(tmp_path, "val")
    assert val.sizes["text2pose"] == 1 and "Human 4" in val[0].messages[0].content
    assert val.sizes["image2pose"] == 0 and val.sizes["speculative"] == 0


def test_dataset_sampler_batches_index_the_dataset(tmp_path):
    small_dataset(tmp_path)
    dataset = PoseDataset(tmp_path)
    batches = list(dataset.sampler(batch_size=10, num_batches=4))
    tasks = [dataset[i].task for batch in batches for i in batch]
    groups = {"image2pose": 0, "text2pose": 0, "instruction": 0, "pose_input": 0}
    for task in tasks:
        groups[{"rpe": "image2pose", "speculative": "text2pose"}.get(task, task)] += 1
    assert groups == {"image2pose": 16, "text2pose": 8, "instruction": 8, "pose_input": 8}


def test_dataset_bad_inputs(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        PoseDataset(tmp_path / "nope")
    with pytest.raises(InvalidInputError, match="split"):
        PoseDataset(tmp_path, "dev")
    with pytest.raises(InvalidInputError, match="unknown tasks"):
        PoseDataset(tmp_path, tasks=("text2pose", "dance"))
    small_dataset(tmp_path)
    (tmp_path / "images/scenes/a.png").write_bytes(b"broken")
    dataset = PoseDataset(tmp_path)
    with pytest.raises(ModelFileError, match="a.png"):
        dataset.load_image(dataset[4])
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_real_hmr_data_drop_in(tmp_path, real_data):
    """The real Human3.6M sample, linked (not copied) into a dataset folder."""
    h36m = real_data("mmpose_smpl/h36m")
    (tmp_path / "image2pose").mkdir()
    (tmp_path / "image2pose/test.npz").symlink_to(real_data("mmpose_smpl/h36m/test_h36m.npz"))
    (tmp_path / "images").symlink_to(h36m)
    dataset = PoseDataset(tmp_path, "test")
    assert dataset.sizes["image2pose"] == 4 and dataset.sizes["rpe"] == 0
    sample = dataset[0]
    assert sample.image == "images/S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg"
    crop = dataset.load_image(sample)
    assert crop.width == crop.height > 100


def test_every_task_has_one_loader():
    """A task is one `TASK_LOADERS` entry, laid out in `TASKS` order, named in `records.Task`."""
    assert tuple(TASK_LOADERS) == TASKS and set(TASKS) == set(get_args(Task))


def test_image_targets_are_in_the_pose_frame(tmp_path):
    """HMR files hold camera-frame roots (y down); image2pose and RPE targets are turned into
    POSE_FRAME (y up, facing the camera), the frame of every answer."""
    small_dataset(tmp_path)
    dataset = PoseDataset(tmp_path, "train", seed=0)
    hmr = dataset.hmr
    start = dataset.offsets["image2pose"]
    for i in range(3):
        target = dataset[start + i].poses[0]
        assert torch.allclose(target, camera_to_y_up(hmr.pose[i]), atol=1e-6)
        assert torch.allclose(target[1:], hmr.pose[i][1:])  # only the root turns
    row, _ = dataset.items["rpe"][0]
    rpe = dataset[dataset.offsets["rpe"]]
    assert torch.allclose(rpe.poses[0], camera_to_y_up(hmr.pose[row]), atol=1e-6)


def test_most_detailed_is_the_longest_description():
    assert most_detailed(["Standing.", "Standing, both arms up.", "Arms up."]) == (
        "Standing, both arms up."
    )
    with pytest.raises(InvalidInputError):
        most_detailed([])

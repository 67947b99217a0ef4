"""`posegpt data prepare`: each converter on tiny files written here in the dataset's published
layout, checked value by value; re-runs, errors, and a dataset folder read back."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import roma
import torch
from typer.testing import CliRunner

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.cli import app
from posegpt.data.dataset import PoseDataset, face_forward
from posegpt.data.formats import HMR24_NAMES, read_amass, read_hmr, read_llava, read_posescript
from posegpt.data.prepare import prepare_dataset
from posegpt.data.prepare.pw3d import OPENPOSE18_IN_HMR24
from posegpt.errors import InvalidInputError, ModelFileError

ATOL = 1e-5


def _random_aa(rng: np.random.Generator, n: int, values: int = 72) -> np.ndarray:
    return (rng.normal(size=(n, values)) * 0.3).astype(np.float32)


def _rotmat(aa: np.ndarray) -> torch.Tensor:
    return axis_angle_to_rotmat(aa.reshape(-1, 72))


# -- PoseScript / PoseFix -------------------------------------------------------------------


@pytest.fixture
def posescript_src(tmp_path: Path, published) -> tuple[Path, Path]:
    """A PoseScript + PoseFix release folder (one folder, as users often unpack them) and an
    AMASS root with two SMPL-H sequences."""
    rng = np.random.default_rng(0)
    amass, src = tmp_path / "amass", tmp_path / "release"
    for name in ("CMU/01/01_01_poses.npz", "KIT/3/walk_poses.npz"):
        (amass / name).parent.mkdir(parents=True, exist_ok=True)
        np.savez(amass / name, poses=_random_aa(rng, 6, 156), trans=np.zeros((6, 3)))
    index = {
        "5": ["AMASS", "CMU/01/01_01_poses.npz", 2],
        "7": ["AMASS", "KIT/3/walk_poses.npz", 5],
        "9": ["AMASS", "CMU/01/01_01_poses.npz", 0],
        "11": ["AMASS", "KIT/3/walk_poses.npz", 1],
    }
    published.json(src / "ids_2_dataset_sequence_and_frame_index_100k.json", index)
    published.json(
        src / "posescript_human_6293.json", {"5": "The body leans left.", "11": "Squat."}
    )
    published.json(
        src / "posescript_auto_100k.json", {"5": ["auto 5a", "auto 5b"], "7": ["auto 7"]}
    )
    published.json(src / "train_ids_100k.json", [5, 9, 11])
    published.json(src / "test_ids_100k.json", [7])
    published.json(src / "pair_id_2_pose_ids.json", [[5, 7], [7, 11], [9, 5]])
    published.json(src / "train_in_sequence_pair_ids.json", [0])
    published.json(src / "train_out_sequence_pair_ids.json", [2])
    published.json(src / "test_out_sequence_pair_ids.json", [1])
    published.json(src / "posefix_human_6157.json", {"0": "Raise your left arm."})
    published.json(
        src / "posefix_auto_135305.json",
        {"0": ["auto 0"], "1": ["Bend the knees."], "2": ["Turn."]},
    )
    return src, amass


def test_posescript_converts_texts_splits_and_frames_exactly(posescript_src, tmp_path):
    src, amass = posescript_src
    out = tmp_path / "data"
    card = prepare_dataset("posescript", src, out, amass_root=amass, show=False)
    assert card["counts"] == {"train": 2, "test": 1, "human_texts": 2, "auto_texts": 3}
    assert card["skipped"] == {"no_text": 1}
    data = read_posescript(out / "text2pose")
    assert data.splits == {"train": [5, 11], "test": [7]}
    assert data.texts(5) == ["The body leans left.", "auto 5a", "auto 5b"]
    assert data.texts(7) == ["auto 7"] and data.texts(11) == ["Squat."]
    for pose_id, (rel, frame) in {
        5: ("CMU/01/01_01_poses.npz", 2),
        7: ("KIT/3/walk_poses.npz", 5),
    }.items():
        expected = read_amass(amass / rel, [frame])[0]
        torch.testing.assert_close(data.pose(pose_id), expected, atol=ATOL, rtol=0)
    # the dataset no longer needs AMASS, and text2pose reads it
    assert PoseDataset(out, "test", tasks=("text2pose",)).sizes["text2pose"] == 1


def test_posescript_rerun_is_idempotent_and_missing_amass_is_clear(posescript_src, tmp_path):
    src, amass = posescript_src
    out = tmp_path / "data"
    first = prepare_dataset("posescript", src, out, amass_root=amass, show=False)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    second = prepare_dataset("posescript", src, out, amass_root=amass, show=False)
    assert first == second
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == files
    (amass / "KIT/3/walk_poses.npz").unlink()
    with pytest.raises(ModelFileError, match="walk_poses.npz not found.*--skip-missing"):
        prepare_dataset("posescript", src, out, amass_root=amass, show=False)
    card = prepare_dataset("posescript", src, out, amass_root=amass, skip_missing=True, show=False)
    assert card["counts"]["test"] == 0 and card["skipped"]["amass_file_missing"] == 2
    # a split gone from the download is gone from the output too
    (src / "test_ids_100k.json").unlink()
    prepare_dataset("posescript", src, out, amass_root=amass, skip_missing=True, show=False)
    assert not (out / "text2pose/test_ids_100k.json").exists()
    with pytest.raises(ModelFileError, match="--amass-root"):
        prepare_dataset("posescript", src, out, show=False)


def test_posefix_pairs_become_two_request_chats(posescript_src, tmp_path):
    src, amass = posescript_src
    out = tmp_path / "data"
    card = prepare_dataset("posefix", src, out, amass_root=amass, show=False)
    # pair 2 asks for pose A = 9, which has no caption
    assert card["counts"] == {"train": 1, "test": 1}
    assert card["skipped"] == {"no_caption_of_a": 1}
    (chat,) = read_llava(out / "instructions/posefix/train.json")
    texts = [m.content for m in chat.messages]
    assert texts[0] == "The body leans left. Give the SMPL pose."
    assert texts[2] == "Raise your left arm. Give the SMPL pose after this change."
    pose_a = read_amass(amass / "CMU/01/01_01_poses.npz", [2])[0]
    pose_b = read_amass(amass / "KIT/3/walk_poses.npz", [5])[0]
    got_a, got_b = chat.poses
    torch.testing.assert_close(got_a, face_forward(pose_a), atol=ATOL, rtol=0)
    torch.testing.assert_close(got_b[1:], pose_b[1:], atol=ATOL, rtol=0)
    # B keeps its orientation relative to A
    torch.testing.assert_close(got_a[0].T @ got_b[0], pose_a[0].T @ pose_b[0], atol=ATOL, rtol=0)
    (test_chat,) = read_llava(out / "instructions/posefix/test.json")
    assert test_chat.messages[0].content == "auto 7 Give the SMPL pose."
    assert test_chat.messages[2].content.startswith("Bend the knees.")


# -- 3DPW -----------------------------------------------------------------------------------


def _pw3d_sequence(rng: np.random.Generator) -> dict:
    frames = 3
    poses2d = np.zeros((frames, 3, 18), np.float64)
    poses2d[:, 0, :] = rng.uniform(100, 300, size=(frames, 18))
    poses2d[:, 1, :] = rng.uniform(50, 400, size=(frames, 18))
    poses2d[:, 2, :] = 0.8
    poses2d[1, 2, :] = 0.0  # frame 1: nothing visible
    poses2d[0, 2, 3] = 0.0  # frame 0: right elbow not visible
    cameras = np.tile(np.eye(4), (frames, 1, 1))
    cameras[:, :3, :3] = roma.rotvec_to_rotmat(torch.tensor(rng.normal(size=(frames, 3)))).numpy()
    cameras[:, :3, 3] = rng.normal(size=(frames, 3))
    return {
        "sequence": "downtown_walking_00",
        "betas": [rng.normal(size=10)],
        "poses": [_random_aa(rng, frames).astype(np.float64)],
        "trans": [np.zeros((frames, 3))],
        "poses2d": [poses2d],
        "jointPositions": [rng.normal(size=(frames, 72))],
        "cam_poses": cameras,
        "cam_intrinsics": np.eye(3),
        "img_frame_ids": np.arange(frames),
        "campose_valid": [np.array([1, 1, 0], dtype=bool)],
        "genders": ["m"],
    }


def test_3dpw_sequences_become_camera_frame_rows(tmp_path):
    rng = np.random.default_rng(1)
    src = tmp_path / "3DPW"
    (src / "sequenceFiles/test").mkdir(parents=True)
    (src / "imageFiles/downtown_walking_00").mkdir(parents=True)
    sequence = _pw3d_sequence(rng)
    with open(src / "sequenceFiles/test/downtown_walking_00.pkl", "wb") as f:
        pickle.dump(sequence, f, protocol=2)  # as published (Python 2 pickles)
    out = tmp_path / "data"
    card = prepare_dataset("3dpw", src, out, show=False)
    # frame 1 has no visible keypoint, frame 2 no valid camera
    assert card["counts"] == {"test": 1} and card["skipped"] == {"no_visible_keypoint": 1}
    hmr = read_hmr(out / "image2pose/3dpw/test.npz")
    assert list(hmr.imgname) == ["3dpw/imageFiles/downtown_walking_00/image_00000.jpg"]
    truth = _rotmat(sequence["poses"][0][0].astype(np.float32))[0]
    turn = torch.tensor(sequence["cam_poses"][0][:3, :3], dtype=torch.float32)
    torch.testing.assert_close(hmr.pose[0, 0], turn @ truth[0], atol=ATOL, rtol=0)
    torch.testing.assert_close(hmr.pose[0, 1:], truth[1:], atol=ATOL, rtol=0)
    keypoints = sequence["poses2d"][0][0].T
    visible = keypoints[:, 2] > 0
    np.testing.assert_allclose(hmr.part[0, OPENPOSE18_IN_HMR24, :2], keypoints[:, :2], atol=1e-3)
    np.testing.assert_array_equal(hmr.part[0, OPENPOSE18_IN_HMR24, 2], visible)
    lo, hi = keypoints[visible, :2].min(0), keypoints[visible, :2].max(0)
    np.testing.assert_allclose(hmr.center[0], (lo + hi) / 2, atol=1e-3)
    np.testing.assert_allclose(hmr.scale[0], 1.2 * (hi - lo).max() / 200, rtol=1e-5)
    joints = sequence["jointPositions"][0][0].reshape(24, 3)
    expected = joints @ sequence["cam_poses"][0][:3, :3].T + sequence["cam_poses"][0][:3, 3]
    np.testing.assert_allclose(hmr.extras["joints_cam"][0], expected, atol=1e-5)
    assert (out / "images/3dpw").resolve() == src.resolve()
    # a re-run writes the same card and rows, and keeps the link
    assert prepare_dataset("3dpw", src, out, show=False) == card
    again = read_hmr(out / "image2pose/3dpw/test.npz")
    torch.testing.assert_close(again.pose, hmr.pose, atol=0, rtol=0)
    np.testing.assert_array_equal(again.part, hmr.part)
    assert PoseDataset(out, "test", tasks=("image2pose",)).sizes["image2pose"] == 1


def test_3dpw_refuses_a_pickle_that_would_run_code(tmp_path):
    src = tmp_path / "3DPW"
    (src / "sequenceFiles/train").mkdir(parents=True)

    class Evil:
        def __reduce__(self):
            return (print, ("ran",))

    with open(src / "sequenceFiles/train/x.pkl", "wb") as f:
        pickle.dump({"sequence": Evil()}, f, protocol=2)
    with pytest.raises(ModelFileError, match="refusing to unpickle .*print"):
        prepare_dataset("3dpw", src, tmp_path / "data", show=False)
    with pytest.raises(ModelFileError, match="sequenceFiles"):
        prepare_dataset("3dpw", tmp_path / "nowhere", tmp_path / "data", show=False)


# -- HMR-style npz (Human3.6M) and BEDLAM ---------------------------------------------------


def test_h36m_npz_keeps_rows_and_resolves_subject_folders(tmp_path):
    rng = np.random.default_rng(2)
    images = tmp_path / "images"
    name = "S9_Walking_1.55011271_000001.jpg"
    (images / "S9/S9_Walking_1.55011271").mkdir(parents=True)
    (images / "S9/S9_Walking_1.55011271" / name).write_bytes(b"")
    pose = _random_aa(rng, 2)
    np.savez(
        tmp_path / "h36m_valid_protocol1.npz",
        imgname=np.array([name, "flat.jpg"]),
        center=np.array([[100.0, 120.0], [50.0, 60.0]]),
        scale=np.array([1.5, 0.8]),
        pose=pose,
        shape=rng.normal(size=(2, 10)),
        S=rng.normal(size=(2, 24, 4)),
    )
    out = tmp_path / "data"
    card = prepare_dataset(
        "h36m", tmp_path / "h36m_valid_protocol1.npz", out, images=images, show=False
    )
    assert card["counts"] == {"val": 2}
    hmr = read_hmr(out / "image2pose/h36m/val.npz")
    assert list(hmr.imgname) == [f"h36m/{name}", "h36m/flat.jpg"]
    # read back, the flat Human3.6M name resolves in its subject/sequence folder
    dataset = PoseDataset(out, "val", tasks=("image2pose",))
    assert dataset[0].image == f"images/h36m/S9/S9_Walking_1.55011271/{name}"
    torch.testing.assert_close(hmr.pose, _rotmat(pose), atol=ATOL, rtol=0)
    assert hmr.extras["S"].shape == (2, 24, 4)
    np.savez(tmp_path / "mosh.npz", pose=pose, shape=np.zeros((2, 10)))
    with pytest.raises(ModelFileError, match="pose-only"):
        prepare_dataset("h36m", tmp_path / "mosh.npz", out, split="train", show=False)
    with pytest.raises(InvalidInputError, match="--split"):
        np.savez(tmp_path / "fits.npz", pose=pose)
        prepare_dataset("h36m", tmp_path / "fits.npz", out, show=False)


def test_h36m_real_sample(tmp_path, real_data):
    real_h36m = real_data("mmpose_smpl/h36m/test_h36m.npz").parent
    out = tmp_path / "data"
    card = prepare_dataset("h36m", real_h36m / "test_h36m.npz", out, images=real_h36m, show=False)
    assert card["counts"] == {"test": 4}
    dataset = PoseDataset(out, "test", tasks=("image2pose",))
    image = dataset.load_image(dataset[0])
    assert image.width == image.height > 0


def test_bedlam_scene_files(tmp_path):
    rng = np.random.default_rng(3)
    src = tmp_path / "all_npz_12_training"
    src.mkdir()
    pose = _random_aa(rng, 2, 165)
    np.savez(
        src / "20221010_3_1000_batch01hand_6fps.npz",
        imgname=np.array(["seq_000000/seq_000000_0000.png", "seq_000000/seq_000000_0010.png"]),
        center=np.array([[640.0, 360.0], [600.0, 300.0]]),
        scale=np.array([2.0, 1.5]),
        pose_cam=pose,
        shape=rng.normal(size=(2, 11)),
        cam_int=np.tile(np.eye(3), (2, 1, 1)),
    )
    out = tmp_path / "data"
    card = prepare_dataset("bedlam", src, out, show=False)
    assert card["counts"] == {"train": 2, "scenes": 1}
    hmr = read_hmr(out / "image2pose/bedlam/train.npz")
    assert (
        hmr.imgname[1]
        == "bedlam/20221010_3_1000_batch01hand_6fps/png/seq_000000/seq_000000_0010.png"
    )
    expected = np.zeros((2, 72), np.float32)
    expected[:, :66] = pose[:, :66]
    torch.testing.assert_close(hmr.pose, _rotmat(expected), atol=ATOL, rtol=0)
    assert hmr.body_model == "smplx"
    np.savez(src / "broken.npz", imgname=np.array(["a.png"]))
    with pytest.raises(ModelFileError, match="broken.npz is not a BEDLAM label file"):
        prepare_dataset("bedlam", src, out, show=False)


# -- EFT ------------------------------------------------------------------------------------


def test_coco_eft_fits(tmp_path, published):
    rng = np.random.default_rng(4)
    entries = [
        published.eft_entry(rng, "COCO_train2014_000000000036.jpg"),
        published.eft_entry(rng, "x.jpg"),
    ]
    published.json(
        tmp_path / "eft/COCO2014-All-ver01.json",
        {"meta": {"dbname": "COCO2014-All"}, "data": entries},
    )
    images = tmp_path / "coco"
    images.mkdir()
    out = tmp_path / "data"
    card = prepare_dataset("coco-eft", tmp_path / "eft", out, images=images, show=False)
    assert card["counts"] == {"train": 2} and card["dbname"] == "COCO2014-All"
    hmr = read_hmr(out / "image2pose/coco-eft/train.npz")
    assert hmr.imgname[0] == "coco-eft/train2014/COCO_train2014_000000000036.jpg"
    torch.testing.assert_close(
        hmr.pose[0], torch.tensor(entries[0]["parm_pose"]), atol=ATOL, rtol=0
    )
    np.testing.assert_allclose(hmr.part[1], np.array(entries[1]["gt_keypoint_2d"])[25:], rtol=1e-6)
    np.testing.assert_allclose(hmr.center[0], [200.5, 150.25])
    assert hmr.extras["annot_id"].tolist() == [1234, 1234]
    assert len(HMR24_NAMES) == 24
    entries[1]["parm_pose"] = [[1, 0, 0]]
    published.json(tmp_path / "bad/MPII_ver01.json", {"meta": {}, "data": entries})
    with pytest.raises(ModelFileError, match="entry 1.*parm_pose"):
        prepare_dataset("mpii-eft", tmp_path / "bad", out, show=False)


# -- LLaVA-Instruct and RPE -----------------------------------------------------------------


def test_llava_instruct_kept_word_for_word(tmp_path, published):
    items = published.llava_items()
    published.json(tmp_path / "llava_instruct_150k.json", items)
    out = tmp_path / "data"
    card = prepare_dataset("llava-instruct", tmp_path, out, show=False)
    assert card["counts"] == {"train": 2, "with_image": 1, "turns": 4}
    written = json.loads((out / "instructions/llava-instruct/train.json").read_text())
    assert (
        written[0]["id"] == "000000033471"
        and written[0]["image"] == "llava-instruct/000000033471.jpg"
    )
    assert written[0]["conversations"] == items[0]["conversations"]
    chats = PoseDataset(out, "train", tasks=("instruction",)).items["instruction"]
    assert chats[0].image == "images/llava-instruct/000000033471.jpg"
    items[1]["conversations"][0]["from"] = "robot"
    published.json(tmp_path / "llava_instruct_150k.json", items)
    with pytest.raises(ModelFileError, match="item 1"):
        prepare_dataset("llava-instruct", tmp_path, out, show=False)


def test_rpe_groups_descriptions_by_person(tmp_path, published):
    rng = np.random.default_rng(5)
    pose = _random_aa(rng, 2)
    image = "3DPW/imageFiles/downtown_runForBus_01/image_00326.jpg"
    behavior = [
        published.rpe_entry(
            rng,
            image,
            [10, 20, 100, 200],
            "The man is about to sit down, can you give the SMPL pose of this person?",
            pose[0],
        ),
        published.rpe_entry(rng, image, [300, 20, 80, 160], "Who is running?", pose[1]),
    ]
    shape = [published.rpe_entry(rng, image, [10, 20, 100, 200], "The taller person.", pose[0])]
    published.json(tmp_path / "rpe/refine_vqa_behavior_withGT.json", behavior)
    published.json(tmp_path / "rpe/refine_vqa_shape_withGT.json", shape)
    out = tmp_path / "data"
    card = prepare_dataset("rpe", tmp_path / "rpe", out, show=False)
    assert card["counts"] == {"behavior": 2, "shape": 1, "test": 2}
    hmr = read_hmr(out / "image2pose/rpe/test.npz")
    assert list(hmr.imgname) == ["rpe/imageFiles/downtown_runForBus_01/image_00326.jpg"] * 2
    assert hmr.extras["description_behavior"][0].startswith("The man is about to sit down")
    assert hmr.extras["description_shape"].tolist() == ["The taller person.", ""]
    np.testing.assert_allclose(hmr.center[0], [60, 120])
    np.testing.assert_allclose(hmr.scale[0], 1.0)
    torch.testing.assert_close(hmr.pose, _rotmat(pose), atol=ATOL, rtol=0)
    np.testing.assert_allclose(
        hmr.extras["joints_cam"][1], behavior[1]["ground_truth"]["joint_cam"], atol=1e-6
    )
    dataset = PoseDataset(out, "test", tasks=("rpe",))
    assert sorted(c.meta["kind"] for c in (dataset[i] for i in range(len(dataset)))) == [
        "behavior",
        "behavior",
        "shape",
    ]


def test_parts_of_several_datasets_read_as_one(tmp_path, published):
    rng = np.random.default_rng(6)
    published.json(
        tmp_path / "eft/MPII_ver01.json", {"meta": {}, "data": [published.eft_entry(rng, "a.jpg")]}
    )
    pose = _random_aa(rng, 1)
    published.json(
        tmp_path / "rpe/refine_vqa_pose_withGT.json",
        [
            published.rpe_entry(
                rng, "3DPW/imageFiles/s/image_00001.jpg", [0, 0, 10, 10], "Arms up.", pose[0]
            )
        ],
    )
    out = tmp_path / "data"
    prepare_dataset("mpii-eft", tmp_path / "eft", out, show=False)
    prepare_dataset("rpe", tmp_path / "rpe", out, show=False)
    (out / "image2pose/mpii-eft/train.npz").rename(out / "image2pose/mpii-eft/test.npz")
    dataset = PoseDataset(out, "test", tasks=("image2pose", "rpe"))
    assert dataset.sizes["image2pose"] == 2 and dataset.sizes["rpe"] == 1
    assert list(dataset.hmr.extras["description_pose"]) == ["", "Arms up."]


def test_cli_prints_the_card_and_reports_errors(tmp_path, published):
    runner = CliRunner()
    rng = np.random.default_rng(7)
    published.json(
        tmp_path / "COCO2014-All-ver01.json",
        {"meta": {}, "data": [published.eft_entry(rng, "a.jpg")]},
    )
    out = tmp_path / "data"
    args = ["data", "prepare", "coco-eft", "--src", str(tmp_path), "--out", str(out), "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"] == {"train": 1}
    assert json.loads((out / "cards/coco-eft.json").read_text())["counts"] == {"train": 1}
    result = runner.invoke(
        app, ["data", "prepare", "nope", "--src", str(tmp_path), "--out", str(out)]
    )
    assert isinstance(result.exception, InvalidInputError)

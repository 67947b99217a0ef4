import json

import numpy as np
import pytest
import roma
import torch

from posegpt.body.skeleton import COCO17_NAMES
from posegpt.data.formats import (
    AUTO_FILE,
    HMR24_NAMES,
    HUMAN_FILE,
    IDS_FILE,
    SPLIT_FILE,
    HmrData,
    coco17_to_hmr24,
    read_amass,
    read_hmr,
    read_llava,
    read_posescript,
    write_amass,
    write_hmr,
    write_llava,
    write_posescript,
)
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.records import Conversation, Message

H36M = "mmpose_smpl/h36m/test_h36m.npz"
AMASS = "amass_sample/amass_sample.npz"


def random_poses(n: int, seed: int = 0, hands: bool = False) -> torch.Tensor:
    torch.manual_seed(seed)
    rotmat = roma.random_rotmat((n, 24))
    if not hands:
        rotmat[:, 22:] = torch.eye(3)
    return rotmat


def test_amass_round_trip_keeps_body_and_drops_hands(tmp_path):
    poses = random_poses(7, hands=True)
    write_amass(tmp_path / "seq_poses.npz", poses)
    back = read_amass(tmp_path / "seq_poses.npz")
    assert torch.allclose(back[:, :22], poses[:, :22], atol=1e-5)
    assert torch.allclose(back[:, 22:], torch.eye(3).expand(7, 2, 3, 3))
    assert torch.allclose(read_amass(tmp_path / "seq_poses.npz", [6, 0]), back[[6, 0]])
    with np.load(tmp_path / "seq_poses.npz") as npz:
        assert npz["poses"].shape == (7, 156)
    # AMASS files are z-up: an upright body (identity root in posegpt) has its up axis on z.
    write_amass(tmp_path / "upright.npz", torch.eye(3).expand(1, 24, 3, 3))
    with np.load(tmp_path / "upright.npz") as npz:
        root = roma.rotvec_to_rotmat(torch.as_tensor(npz["poses"][0, :3]))
    assert torch.allclose(
        root @ torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0]), atol=1e-6
    )
    with pytest.raises(ModelFileError, match="frame"):
        read_amass(tmp_path / "seq_poses.npz", [7])


def test_amass_bad_files(tmp_path):
    np.savez(tmp_path / "a.npz", trans=np.zeros((3, 3)))
    with pytest.raises(ModelFileError, match="no 'poses'"):
        read_amass(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", poses=np.zeros((3, 10)))
    with pytest.raises(ModelFileError, match="need >= 66"):
        read_amass(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", poses=np.full((1, 156), np.nan))
    with pytest.raises(ModelFileError, match="finite"):
        read_amass(tmp_path / "c.npz")


def test_posescript_round_trip(tmp_path):
    poses = random_poses(25, seed=1)
    human = {i: f"pose {i} in words" for i in range(25)}
    auto = {i: [f"auto {i} a", f"auto {i} b"] for i in range(0, 25, 2)}
    splits = {"train": list(range(15)), "val": list(range(15, 20)), "test": list(range(20, 25))}
    write_posescript(tmp_path, poses, human, auto, splits, per_sequence=10)
    index = json.loads((tmp_path / IDS_FILE).read_text())
    assert index["13"] == ["AMASS", "synthetic/seq_00001_poses.npz", 3]
    assert len(list((tmp_path / "amass/synthetic").glob("*.npz"))) == 3
    for name in (HUMAN_FILE, AUTO_FILE, SPLIT_FILE.format("val")):
        assert (tmp_path / name).exists()
    data = read_posescript(tmp_path)
    assert data.splits == splits
    assert sorted(data.ids) == list(range(25))
    for i in (0, 13, 24):
        assert torch.allclose(data.pose(i), poses[i], atol=1e-5)
    assert data.texts(4) == ["pose 4 in words", "auto 4 a", "auto 4 b"]
    assert data.texts(5) == ["pose 5 in words"]
    only_val = read_posescript(tmp_path, splits=("val",))
    assert set(only_val.ids) == set(splits["val"]) and set(only_val.splits) == {"val"}


def test_posescript_missing_amass_file(tmp_path):
    write_posescript(
        tmp_path,
        random_poses(4),
        {i: "t" for i in range(4)},
        {},
        {"train": [0, 1, 2, 3]},
        per_sequence=2,
    )
    (tmp_path / "amass/synthetic/seq_00001_poses.npz").unlink()
    with pytest.raises(ModelFileError, match="seq_00001_poses.npz"):
        read_posescript(tmp_path)
    assert sorted(read_posescript(tmp_path, skip_missing=True).ids) == [0, 1]


def test_posescript_rejects_paths_leaving_the_amass_root(tmp_path):
    write_posescript(tmp_path, random_poses(1), {0: "t"}, {}, {"train": [0]})
    (tmp_path / IDS_FILE).write_text(json.dumps({"0": ["AMASS", "../../etc/x.npz", 0]}))
    with pytest.raises(ModelFileError, match="inside its root"):
        read_posescript(tmp_path)


def hmr_sample(n: int = 5) -> HmrData:
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(0, 100, (n, 17, 3)).astype(np.float32)
    return HmrData(
        imgname=np.array([f"scenes/train/{i:06d}.png" for i in range(n)]),
        center=rng.uniform(20, 80, (n, 2)).astype(np.float32),
        scale=rng.uniform(0.2, 0.5, n).astype(np.float32),
        pose=random_poses(n, seed=2, hands=True),
        shape=np.pad(rng.uniform(0, 1, (n, 6)), ((0, 0), (0, 4))).astype(np.float32),
        part=coco17_to_hmr24(keypoints),
        body_model="anny",
        extras={"description_outfit": np.array([f"the man in red {i}" for i in range(n)])},
    )


def test_hmr_round_trip(tmp_path):
    data = hmr_sample()
    write_hmr(tmp_path / "train.npz", data)
    back = read_hmr(tmp_path / "train.npz")
    assert len(back) == 5 and back.body_model == "anny"
    assert list(back.imgname) == list(data.imgname)
    assert torch.allclose(back.pose, data.pose, atol=1e-5)
    for key in ("center", "scale", "shape", "part"):
        np.testing.assert_allclose(getattr(back, key), getattr(data, key), atol=1e-6)
    assert list(back.extras["description_outfit"]) == list(data.extras["description_outfit"])
    coco_slots = [HMR24_NAMES.index(n) for n in COCO17_NAMES]
    np.testing.assert_array_equal(back.coco17(), data.part[:, coco_slots])
    assert (np.delete(back.part, coco_slots, axis=1) == 0).all()
    x0, y0, x1, y1 = back.box(0)
    assert x1 - x0 == pytest.approx(back.scale[0] * 200) == pytest.approx(y1 - y0)


def test_hmr_bad_files(tmp_path):
    with pytest.raises(ModelFileError, match="missing.npz"):
        read_hmr(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="junk.npz"):
        read_hmr(tmp_path / "junk.npz")
    np.savez(
        tmp_path / "short.npz",
        imgname=np.array(["a"]),
        center=np.zeros((1, 2)),
        scale=np.ones(1),
        pose=np.zeros((1, 69)),
    )
    with pytest.raises(ModelFileError, match=r"'pose' has shape \(1, 69\)"):
        read_hmr(tmp_path / "short.npz")
    np.savez(tmp_path / "obj.npz", imgname=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="obj.npz"):
        read_hmr(tmp_path / "obj.npz")
    with pytest.raises(InvalidInputError, match="extra array"):
        bad = hmr_sample(2)
        bad.extras["x"] = np.zeros(3)
        write_hmr(tmp_path / "x.npz", bad)


def test_llava_round_trip_with_poses(tmp_path):
    poses = random_poses(2, seed=3, hands=True)
    conversations = [
        Conversation(
            [Message("user", "<image>\nHow many people?"), Message("assistant", "Two.")],
            image="scenes/a.png",
            meta={"kind": "count"},
        ),
        Conversation(
            [Message("user", "Pose?"), Message("assistant", "<POSE>. And <POSE>.")],
            list(poses),
            task="speculative",
        ),
    ]
    write_llava(tmp_path / "x.json", conversations, "s-")
    raw = json.loads((tmp_path / "x.json").read_text())
    assert raw[0]["id"] == "s-0" and raw[0]["conversations"][0]["from"] == "human"
    assert len(raw[1]["poses"]) == 2 and len(raw[1]["poses"][0]) == 72
    back = read_llava(tmp_path / "x.json")
    assert [m.content for m in back[0].messages] == [m.content for m in conversations[0].messages]
    assert back[0].image == "scenes/a.png" and back[0].meta == {"id": "s-0", "kind": "count"}
    assert back[1].task == "speculative"
    assert torch.allclose(torch.stack(back[1].poses), poses, atol=1e-5)


@pytest.mark.parametrize(
    "item, message",
    [
        ({"conversations": [{"from": "robot", "value": "x"}]}, "'from'"),
        (
            {"conversations": [{"from": "gpt", "value": "<POSE>"}]},
            "1 <POSE> in the answers, 0 poses",
        ),
        ({"conversations": [], "image": "../secret.png"}, "inside its root"),
        ({"conversations": [], "task": "dance"}, "unknown task"),
        ({"conversations": [], "poses": [[0.0] * 5]}, "72-value"),
    ],
)
def test_llava_bad_items(tmp_path, item, message):
    (tmp_path / "bad.json").write_text(json.dumps([item]))
    with pytest.raises(ModelFileError, match=message):
        read_llava(tmp_path / "bad.json")


# -- real data (skipped when the shared samples are absent) --------------------------------


def test_reads_real_hmr_npz(real_data):
    data = read_hmr(real_data(H36M))
    assert len(data) == 4 and data.body_model == "smpl"
    assert data.imgname[0].endswith(".jpg") and "S" in data.extras
    # Camera frame (y down): the bodies stand upright, so their up axis points to -y.
    assert (data.pose[:, 0, 1, 1] < 0).sum() >= 3
    coco = data.coco17()
    assert coco.shape == (4, 17, 3)
    ankles = data.part[:, HMR24_NAMES.index("right_ankle"), 1]
    knees = data.part[:, HMR24_NAMES.index("right_knee"), 1]
    assert (ankles > knees).all()  # image y grows downwards


def test_mosh_npz_is_not_an_hmr_file(real_data):
    with pytest.raises(ModelFileError, match="no 'imgname'"):
        read_hmr(real_data("mmpose_smpl/mosh/test_mosh.npz"))


def test_reads_real_amass_upright_and_posescript_layout_over_it(tmp_path, real_data):
    frames = read_amass(real_data(AMASS), [0, 300, 600])
    assert frames.shape == (3, 24, 3, 3)
    assert (frames[:, 0, 1, 1] > 0.7).all()  # the body's up axis is mostly +y after z-up -> y-up
    index = {
        str(i): ["AMASS", "amass_sample/amass_sample.npz", f] for i, f in enumerate([0, 300, 600])
    }
    (tmp_path / IDS_FILE).write_text(json.dumps(index))
    (tmp_path / HUMAN_FILE).write_text(json.dumps({"0": "a", "1": "b", "2": "c"}))
    (tmp_path / SPLIT_FILE.format("test")).write_text("[0, 1, 2]")
    data = read_posescript(tmp_path, amass_root=real_data())
    assert torch.allclose(data.poses, frames)

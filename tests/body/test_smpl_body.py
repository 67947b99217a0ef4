import math
import os
import pickle
import sys

import numpy as np
import pytest
import roma
import scipy.sparse
import torch

from posegpt.body import load_body_model
from posegpt.body import smpl_body as smpl_body_module
from posegpt.body.fake_smpl import fake_smpl_arrays
from posegpt.body.rotations import identity_pose
from posegpt.body.skeleton import COCO17_NAMES, JOINT_INDEX, JOINT_NAMES, KEYPOINT_NAMES, PARENTS
from posegpt.body.smpl_body import KEYPOINT_VERTICES, SmplBody
from posegpt.body.smpl_file import convert_smpl_to_npz, find_smpl_file, load_smpl_arrays
from posegpt.errors import InvalidInputError, ModelFileError

J = JOINT_INDEX


@pytest.fixture(scope="module")
def body(smpl_npz) -> SmplBody:
    return SmplBody(smpl_npz)


@pytest.fixture(scope="module")
def arrays(smpl_npz) -> dict[str, np.ndarray]:
    return load_smpl_arrays(smpl_npz)


def random_pose(batch: int, seed: int = 0, scale: float = 0.6) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return roma.rotvec_to_rotmat(scale * torch.randn(batch, 24, 3, generator=gen))


def with_rotation(joint: str, rotvec) -> torch.Tensor:
    pose = identity_pose()
    pose[J[joint]] = roma.rotvec_to_rotmat(torch.tensor(rotvec, dtype=torch.float32))
    return pose


def test_identity_pose_gives_the_template_and_regressed_joints(body, arrays):
    out = body(identity_pose(2))
    rest_joints = arrays["J_regressor"] @ arrays["v_template"]
    assert out.vertices.shape == (2, 6890, 3) and out.vertices.dtype == torch.float32
    assert out.keypoints3d.shape == (2, len(KEYPOINT_NAMES), 3)
    np.testing.assert_allclose(out.vertices[1].numpy(), arrays["v_template"], atol=1e-6)
    # No pelvis shift: the pelvis stays where the regressor puts it (as in smplx).
    np.testing.assert_allclose(out.joints[0].numpy(), rest_joints, atol=1e-6)
    assert body.faces.dtype == torch.int64
    assert np.array_equal(body.faces.numpy(), arrays["f"])
    assert body.name == "smpl" and body.num_betas == 10


def test_forward_kinematics_and_skinning_follow_the_chain(body, arrays):
    """Joints and a vertex skinned only to the head, recomputed joint by joint in float64."""
    pose = random_pose(1, seed=1)
    out = body(pose)
    rot = pose[0].double().numpy()
    rest = arrays["J_regressor"] @ arrays["v_template"]
    world_rot, world_pos = [rot[0]], [rest[0]]
    for j in range(1, 24):
        p = PARENTS[j]
        world_rot.append(world_rot[p] @ rot[j])
        world_pos.append(world_pos[p] + world_rot[p] @ (rest[j] - rest[p]))
    np.testing.assert_allclose(out.joints[0].numpy(), np.array(world_pos), atol=1e-5)

    nose = KEYPOINT_VERTICES["nose"]
    assert arrays["weights"][nose, J["head"]] == 1.0
    features = (rot[1:] - np.eye(3)).reshape(-1)  # SMPL's pose blend-shape features
    rest_nose = arrays["v_template"][nose] + arrays["posedirs"][nose] @ features
    expected = world_pos[J["head"]] + world_rot[J["head"]] @ (rest_nose - rest[J["head"]])
    np.testing.assert_allclose(out.vertices[0, nose].numpy(), expected, atol=1e-5)


def test_keypoints_are_coco_then_feet_from_vertices_and_joints(body):
    out = body(random_pose(2, seed=2))
    assert KEYPOINT_NAMES[:17] == COCO17_NAMES
    for i, name in enumerate(KEYPOINT_NAMES):
        source = (
            out.vertices[:, KEYPOINT_VERTICES[name]]
            if name in KEYPOINT_VERTICES
            else out.joints[:, J[name]]
        )
        assert torch.equal(out.keypoints3d[:, i], source), name


def test_left_side_is_at_plus_x(body):
    out = body(identity_pose())
    for i, name in enumerate(JOINT_NAMES):
        if name.startswith("left_"):
            assert out.joints[0, i, 0] > 0 > out.joints[0, J["right" + name[4:]], 0], name
    eyes = [KEYPOINT_NAMES.index(n) for n in ("left_eye", "right_eye")]
    assert out.keypoints3d[0, eyes[0], 0] > 0 > out.keypoints3d[0, eyes[1], 0]


def test_knee_bend_sends_ankle_backwards(body):
    out = body(with_rotation("left_knee", [math.pi / 2, 0, 0]))
    knee, ankle = out.joints[0, J["left_knee"]], out.joints[0, J["left_ankle"]]
    assert ankle[2] < knee[2] - 0.3
    assert abs(ankle[1] - knee[1]) < 0.05


def test_raised_shoulder_puts_wrist_above_head(body):
    out = body(with_rotation("left_shoulder", [0, 0, math.pi / 2]))
    assert out.joints[0, J["left_wrist"], 1] > out.joints[0, J["head"], 1] + 0.2


def test_batch_matches_single_poses(body):
    pose, betas = (
        random_pose(3, seed=3),
        torch.randn(3, 10, generator=torch.Generator().manual_seed(3)),
    )
    batch = body(pose, betas)
    for i in range(3):
        one = body(pose[i], betas[i : i + 1])
        torch.testing.assert_close(batch.vertices[i], one.vertices[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(batch.joints[i], one.joints[0], atol=1e-5, rtol=0)


def test_gradients_reach_rotations_and_betas(body):
    pose = random_pose(2, seed=4).requires_grad_()
    betas = torch.zeros(2, 10, requires_grad=True)
    out = body(pose, betas)
    (out.vertices.square().sum() + out.keypoints3d.sum()).backward()
    assert torch.isfinite(pose.grad).all() and pose.grad.abs().sum() > 0
    assert torch.isfinite(betas.grad).all() and betas.grad.abs().sum() > 0


def test_betas_change_the_shape(body):
    pose = random_pose(1, seed=5)
    plain = body(pose)
    torch.testing.assert_close(body(pose, torch.zeros(1, 10)).vertices, plain.vertices)
    taller = body(pose, torch.tensor([[2.0]]))  # fewer betas than the model has: rest are 0
    assert (taller.vertices - plain.vertices).abs().max() > 0.01
    assert (taller.joints - plain.joints).abs().max() > 0.01
    torch.testing.assert_close(
        body(pose, torch.tensor([[2.0] + [0.0] * 9])).vertices, taller.vertices
    )


@pytest.mark.parametrize(
    ("rotmat", "betas"),
    [
        (torch.eye(3).expand(2, 23, 3, 3), None),
        (torch.eye(3).expand(2, 24, 3, 3), torch.zeros(2, 11)),
        (torch.eye(3).expand(2, 24, 3, 3), torch.zeros(3, 10)),
    ],
)
def test_bad_shapes_raise(body, rotmat, betas):
    with pytest.raises(InvalidInputError):
        body(rotmat, betas)


def test_every_tensor_follows_the_module_to_another_device(smpl_npz):
    body = SmplBody(smpl_npz).to("meta")  # any stray CPU tensor in forward would fail here
    out = body(identity_pose(2).to("meta"), torch.zeros(2, 10, device="meta"))
    assert out.vertices.device.type == out.keypoints3d.device.type == "meta"


def test_betas_are_capped(smpl_npz, monkeypatch):
    monkeypatch.setattr(smpl_body_module, "MAX_BETAS", 4)
    capped = SmplBody(smpl_npz)
    assert capped.num_betas == 4
    with pytest.raises(InvalidInputError):
        capped(identity_pose(), torch.zeros(1, 5))


def test_official_style_pkl_loads_without_chumpy(smpl_pkl, smpl_npz, body):
    assert "chumpy" not in sys.modules
    from_pkl = load_smpl_arrays(smpl_pkl)
    for key, value in load_smpl_arrays(smpl_npz).items():
        np.testing.assert_array_equal(from_pkl[key], value, err_msg=key)
    assert "chumpy" not in sys.modules
    pose = random_pose(1, seed=6)
    torch.testing.assert_close(SmplBody(smpl_pkl)(pose).vertices, body(pose).vertices)


def test_python3_pickles_load(arrays, tmp_path):
    """Files re-saved by Python 3 "chumpy-free" scripts: plain arrays, a csr J_regressor."""
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    sparse = scipy.sparse.csr_matrix(arrays["J_regressor"])
    path.write_bytes(pickle.dumps({**arrays, "J_regressor": sparse}, protocol=4))
    for key, value in load_smpl_arrays(path).items():
        np.testing.assert_array_equal(value, arrays[key], err_msg=key)


def test_convert_pkl_to_npz(smpl_pkl, arrays, tmp_path):
    dst = convert_smpl_to_npz(smpl_pkl, tmp_path / "out" / "SMPL_NEUTRAL.npz")
    with np.load(dst, allow_pickle=False) as npz:
        for key, value in arrays.items():
            np.testing.assert_array_equal(npz[key], value, err_msg=key)
    assert [p.name for p in dst.parent.iterdir()] == ["SMPL_NEUTRAL.npz"]
    with pytest.raises(InvalidInputError):
        convert_smpl_to_npz(smpl_pkl, tmp_path / "model.pkl")


class _Attack:
    """Unpickling this calls `function(argument)`."""

    def __init__(self, function, argument):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


@pytest.mark.parametrize("how", ["system", "exec", "nested"])
def test_malicious_pickle_is_refused_and_not_run(tmp_path, how):
    marker = tmp_path / "ran"
    attack = {
        "system": _Attack(os.system, f"touch {marker}"),
        "exec": _Attack(exec, f"open({str(marker)!r}, 'w').close()"),
        "nested": {"v_template": [_Attack(os.system, f"touch {marker}")]},
    }[how]
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(attack, protocol=2))
    with pytest.raises(ModelFileError, match="refusing to unpickle"):
        load_smpl_arrays(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("fmt", "change", "match"),
    [
        ("npz", lambda a: {**a, "weights": a["weights"][:, :23]}, "'weights' has shape"),
        ("npz", lambda a: {k: v for k, v in a.items() if k != "posedirs"}, "lacks posedirs"),
        ("npz", lambda a: {**a, "f": a["f"] + 6890}, "'f' has vertex indices"),
        ("npz", lambda a: {**a, "kintree_table": a["kintree_table"][:, ::-1]}, "kinematic tree"),
        ("npz", lambda a: {**a, "v_template": a["v_template"] * np.nan}, "'v_template' must"),
        ("npz", lambda a: {**a, "shapedirs": np.zeros((6890, 3))}, "'shapedirs' has shape"),
        ("pkl", lambda a: {**a, "shapedirs": {"a": np.zeros(3)}}, "chumpy object"),
        ("pkl", lambda a: {**a, "weights": "lbs"}, "'weights' is not a numeric array"),
    ],
)
def test_bad_model_arrays_are_reported(tmp_path, write_fake_smpl, fmt, change, match):
    path = write_fake_smpl(tmp_path / f"SMPL_NEUTRAL.{fmt}", fmt, change(fake_smpl_arrays()))
    with pytest.raises(ModelFileError, match=match) as err:
        SmplBody(path)
    assert str(path) in str(err.value)


def test_missing_and_corrupt_files_are_reported(tmp_path, smpl_pkl, monkeypatch):
    cases = {
        tmp_path / "nowhere.npz": "does not exist",
        tmp_path / "empty_dir": "no SMPL model file",
        tmp_path / "junk.npz": "not an .npz archive",
        tmp_path / "truncated.pkl": "corrupt pickle",
        tmp_path / "list.pkl": "no dict of arrays",
        tmp_path / "model.obj": "unsupported SMPL model file type",
        tmp_path / "objects.npz": "allow_pickle",
    }
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "junk.npz").write_bytes(b"\x00not a zip" * 10)
    (tmp_path / "truncated.pkl").write_bytes(smpl_pkl.read_bytes()[:5000])
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([np.zeros(3)]))
    (tmp_path / "model.obj").write_text("v 0 0 0\n")
    np.savez(tmp_path / "objects.npz", v_template=np.array([{}], dtype=object))
    for path, match in cases.items():
        with pytest.raises(ModelFileError, match=match):
            SmplBody(path)
    monkeypatch.delenv("SMPL_MODEL_PATH", raising=False)
    with pytest.raises(ModelFileError, match="SMPL_MODEL_PATH"):
        SmplBody()


def test_model_folder_search_order(tmp_path, monkeypatch):
    def touch(*names: str) -> None:
        for name in names:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).touch()

    touch("smpl/basicModel_f_lbs_10_207_0_v1.0.0.pkl")
    assert find_smpl_file(tmp_path).name == "basicModel_f_lbs_10_207_0_v1.0.0.pkl"
    touch("SMPL_MALE.pkl")
    assert find_smpl_file(tmp_path).name == "SMPL_MALE.pkl"
    touch(
        "basicmodel_neutral_lbs_10_207_0_v1.0.0.pkl", "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl"
    )
    assert find_smpl_file(tmp_path).name == "basicmodel_neutral_lbs_10_207_0_v1.1.0.pkl"
    touch("SMPL_NEUTRAL.pkl", "SMPL_NEUTRAL.npz")
    assert find_smpl_file(tmp_path).name == "SMPL_NEUTRAL.npz"
    monkeypatch.setenv("SMPL_MODEL_PATH", str(tmp_path))
    assert find_smpl_file(None) == tmp_path / "SMPL_NEUTRAL.npz"
    assert find_smpl_file(tmp_path / "SMPL_MALE.pkl").name == "SMPL_MALE.pkl"


def test_load_body_model_builds_smpl_from_a_path_or_the_environment(smpl_npz, monkeypatch):
    model = load_body_model(str(smpl_npz))
    assert isinstance(model, SmplBody) and model.path == smpl_npz
    monkeypatch.setenv("SMPL_MODEL_PATH", str(smpl_npz.parent))
    assert SmplBody().path == smpl_npz

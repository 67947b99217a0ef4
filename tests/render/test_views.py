from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from posegpt.errors import InvalidInputError, PoseGPTError
from posegpt.render import render_pose_views, save_png
from posegpt.render.rasterizer import DEFAULT_BACKGROUND

SIZE = 64
BACKGROUND = np.rint(np.asarray(DEFAULT_BACKGROUND) * 255)


def _part(mesh: trimesh.Trimesh, offset) -> trimesh.Trimesh:
    mesh.apply_translation(offset)
    return mesh


@pytest.fixture(scope="module")
def figure() -> tuple[np.ndarray, np.ndarray]:
    """A stick figure facing +z with one arm, raised sideways on its left (+x)."""
    parts = [
        _part(trimesh.creation.box(extents=(0.35, 0.6, 0.2)), (0, 1.2, 0)),  # torso
        _part(trimesh.creation.icosphere(subdivisions=1, radius=0.12), (0, 1.65, 0)),  # head
        _part(trimesh.creation.box(extents=(0.12, 0.9, 0.12)), (-0.1, 0.45, 0)),  # legs
        _part(trimesh.creation.box(extents=(0.12, 0.9, 0.12)), (0.1, 0.45, 0)),
        _part(trimesh.creation.box(extents=(0.6, 0.1, 0.1)), (0.45, 1.4, 0)),  # left arm
        _part(trimesh.creation.box(extents=(0.1, 0.1, 0.25)), (0.0, 0.05, 0.1)),  # feet forward
    ]
    body = trimesh.util.concatenate(parts)
    return np.asarray(body.vertices) - [0, 1.0, 0], np.asarray(body.faces)


def _figure_columns(panel: np.ndarray) -> np.ndarray:
    """Per column, how many pixels differ clearly from the background (shadow excluded)."""
    return (np.abs(panel.astype(int) - BACKGROUND).sum(-1) > 90).sum(axis=0)


def test_panels_side_by_side_on_neutral_background(figure):
    vertices, faces = figure
    image = render_pose_views(vertices, faces, size=SIZE, views=("front", "side", "top"))
    assert image.shape == (SIZE, 3 * SIZE, 3) and image.dtype == np.uint8
    assert (image[0, :] == BACKGROUND).all()  # top row: empty background
    for k in range(3):
        assert _figure_columns(image[:, k * SIZE : (k + 1) * SIZE]).sum() > 50
    assert not np.array_equal(image[:, :SIZE], image[:, SIZE : 2 * SIZE])


def test_front_view_shows_the_left_arm_on_the_image_right(figure):
    vertices, faces = figure
    image = render_pose_views(vertices, faces, size=SIZE, views=("front", "back"))
    front, back = _figure_columns(image[:, :SIZE]), _figure_columns(image[:, SIZE:])
    # The tallest columns (torso and legs) sit opposite the arm's side.
    assert np.argmax(front) < SIZE // 2 < np.argmax(back)


def test_several_bodies_stand_side_by_side_in_every_view(figure):
    vertices, faces = figure
    red, blue = (0.9, 0.1, 0.1), (0.1, 0.1, 0.9)
    batch = torch.tensor(np.stack([vertices, vertices]))
    image = render_pose_views(batch, faces, size=SIZE, views=("front", "side"), colors=[red, blue])
    for k in range(2):
        panel = image[:, k * SIZE : (k + 1) * SIZE].astype(int)
        reds = np.nonzero((panel[..., 0] - panel[..., 2]) > 60)[1]
        blues = np.nonzero((panel[..., 2] - panel[..., 0]) > 60)[1]
        assert reds.size > 20 and blues.size > 20
        assert reds.max() < blues.min()  # the first body on the left, no overlap


def test_floor_shadow_under_the_feet(figure):
    vertices, faces = figure
    panel = render_pose_views(vertices, faces, size=SIZE, views=("front",)).astype(int)
    figure_rows = np.nonzero((np.abs(panel - BACKGROUND).sum(-1) > 90).any(axis=1))[0]
    below = panel[figure_rows.max() + 1 :]
    darker = (BACKGROUND - below).min(axis=-1)
    assert (darker > 3).any()  # a subtle shadow ...
    assert (darker < 60).all()  # ... not a solid shape


def test_save_png_round_trips(tmp_path, figure):
    image = render_pose_views(*figure, size=SIZE)
    path = tmp_path / "out" / "pose.png"
    save_png(path, image)
    assert np.array_equal(np.asarray(Image.open(path)), image)
    assert [p.name for p in path.parent.iterdir()] == ["pose.png"]  # no temporary left


def test_save_png_to_unwritable_path_raises(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(PoseGPTError, match="file.txt"):
        save_png(blocker / "pose.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InvalidInputError):
        save_png(tmp_path / "pose.png", np.zeros((4, 4), np.float32))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"views": ("front", "diagonal")},
        {"views": ()},
        {"views": "front"},
        {"size": 5000},
        {"faces": np.array([[0, 1, 10**6]])},
        {"vertices": np.full((10, 3), np.nan)},
        {"colors": [(1.0, 0.0, 0.0)] * 3},
        {"colors": (1.5, 0.0, 0.0)},
    ],
)
def test_bad_view_arguments_raise(figure, kwargs):
    vertices, faces = figure
    arguments = {"vertices": vertices, "faces": faces, "size": SIZE} | kwargs
    with pytest.raises(InvalidInputError):
        render_pose_views(**arguments)


def test_bad_body_lists_raise(figure):
    vertices, faces = figure
    for bodies in ([vertices] * 17, [vertices, vertices[:-1]], []):
        with pytest.raises(InvalidInputError):
            render_pose_views(bodies, faces, size=SIZE)

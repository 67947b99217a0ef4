from __future__ import annotations

import numpy as np
import pytest

from posegpt.errors import InvalidInputError
from posegpt.render import Camera, frame_bodies, view_axes


def _pixel(camera: Camera, point) -> np.ndarray:
    uv, _ = camera.project(np.array([point], dtype=float))
    return uv[0]


def test_look_at_puts_target_at_centre_with_depth_equal_to_distance():
    camera = Camera.look_at(eye=(1.0, 2.0, 5.0), target=(1.0, 2.0, 0.0), width=64, height=48)
    uv, depth = camera.project(np.array([[1.0, 2.0, 0.0], [1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(uv, [[32.0, 24.0], [32.0, 24.0]], atol=1e-9)
    np.testing.assert_allclose(depth, [5.0, 2.0])


def test_fov_sets_focal_length():
    camera = Camera.look_at((0, 0, 4), (0, 0, 0), fov_deg=90.0, width=100, height=100)
    # With a 90 degree vertical field of view, a point at 45 degrees lands on the top border.
    assert _pixel(camera, (0.0, 4.0, 0.0))[1] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "view, point, direction",
    [
        ("front", (1.0, 0.0, 0.0), "right"),  # the subject's left is on the image right
        ("front", (0.0, 1.0, 0.0), "up"),
        ("back", (1.0, 0.0, 0.0), "left"),
        ("side", (0.0, 0.0, 1.0), "left"),  # seen from its left, the subject faces left
        ("side", (0.0, 1.0, 0.0), "up"),
        ("top", (1.0, 0.0, 0.0), "right"),
        ("top", (0.0, 0.0, 1.0), "down"),  # the subject's front is at the image bottom
    ],
)
def test_named_views_orient_the_image(view, point, direction):
    toward_eye, _, _ = view_axes(view)
    camera = Camera.look_at(5.0 * toward_eye, (0, 0, 0), view_axes(view)[1], width=64, height=64)
    du, dv = _pixel(camera, point) - 32.0
    moved = {"right": du > 1, "left": du < -1, "up": dv < -1, "down": dv > 1}
    assert moved[direction], (du, dv)


def test_view_axes_are_orthonormal_with_elevation():
    toward_eye, up, right = view_axes("front", elevation_deg=30.0)
    basis = np.stack([toward_eye, up, right])
    np.testing.assert_allclose(basis @ basis.T, np.eye(3), atol=1e-12)
    assert toward_eye[1] == pytest.approx(0.5)  # the eye is raised


@pytest.mark.parametrize("view", ["front", "side", "back", "top"])
def test_frame_bodies_fits_all_points_tightly(view):
    rng = np.random.default_rng(0)
    bodies = [rng.normal(size=(200, 3)) * [0.3, 0.9, 0.2], rng.normal(size=(50, 3)) + [2, 0, 0]]
    camera = frame_bodies(bodies, view, size=(120, 80), margin=0.1)
    uv, depth = camera.project(np.concatenate(bodies))
    assert np.all(depth > 0)
    inside = (uv >= [12 - 1e-6, 8 - 1e-6]) & (uv <= [108 + 1e-6, 72 + 1e-6])
    assert inside.all()
    # Tight: some point touches the usable area's border.
    gap = np.minimum(uv - [12, 8], [108, 72] - uv).min()
    assert gap < 1.0


def test_frame_bodies_takes_one_array_or_a_batch():
    body = np.random.default_rng(1).normal(size=(30, 3))
    single, batch = frame_bodies(body), frame_bodies(np.stack([body, body]))
    np.testing.assert_allclose(single.position, frame_bodies([body]).position)
    np.testing.assert_allclose(batch.position, single.position)


def test_project_marks_points_behind_the_camera():
    camera = Camera.look_at((0, 0, 2), (0, 0, 0))
    uv, depth = camera.project(np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 0.0]]))
    assert depth[0] < 0 and np.isnan(uv[0]).all()
    assert np.isfinite(uv[1]).all()


def test_scaled_camera_scales_pixel_coordinates():
    camera = Camera.look_at((0.3, 0.2, 3), (0, 0, 0), width=40, height=30)
    points = np.array([[0.1, 0.4, -0.2], [-0.5, 0.0, 0.3]])
    np.testing.assert_allclose(camera.scaled(3).project(points)[0], 3 * camera.project(points)[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: Camera.look_at((0, 0, 1), (0, 0, 0), width=5000),
        lambda: Camera.look_at((0, 0, 1), (0, 0, 0), height=0),
        lambda: Camera.look_at((0, 0, 1), (0, 0, 1)),
        lambda: Camera.look_at((0, 1, 0), (0, 0, 0)),  # up parallel to the view
        lambda: Camera.look_at((0, 0, 1), (0, 0, 0), fov_deg=180.0),
        lambda: Camera(-1.0, 10, 10, np.eye(3), np.zeros(3)),
        lambda: Camera(10.0, 10, 10, 2 * np.eye(3), np.zeros(3)),
        lambda: Camera(10.0, 10, 10, np.eye(3), [0.0, np.nan, 0.0]),
        lambda: frame_bodies([np.zeros((3, 3))], view="diagonal"),
        lambda: frame_bodies([np.zeros((0, 3))]),
        lambda: frame_bodies([np.zeros((4, 2))]),
        lambda: frame_bodies([np.zeros((4, 3))], size=10_000),
    ],
)
def test_bad_camera_inputs_raise(make):
    with pytest.raises(InvalidInputError):
        make()

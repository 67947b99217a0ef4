from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

import posegpt.render.rasterizer as rasterizer
from posegpt.errors import InvalidInputError
from posegpt.render import Camera, Mesh, rasterize, render_meshes

RED, BLUE, WHITE = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0)
FRONT = Camera.look_at(eye=(0, 0, 5), target=(0, 0, 0), fov_deg=40, width=64, height=64)


def _box(extents, center, **kwargs) -> Mesh:
    box = trimesh.creation.box(extents=extents)
    return Mesh(box.vertices + np.asarray(center, float), box.faces, **kwargs)


def _quad(normal_angle_deg: float, **kwargs) -> Mesh:
    """A unit square at the origin facing +z turned by the angle about the y axis."""
    corners = np.array([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0]])
    turn = trimesh.transformations.rotation_matrix(np.radians(normal_angle_deg), [0, 1, 0])[:3, :3]
    return Mesh(corners @ turn.T, [[0, 1, 2], [0, 2, 3]], **kwargs)


def test_nearer_box_occludes_farther_one_whatever_the_order():
    red = _box((1, 1, 1), (0, 0, 1), color=RED, shading="unlit")
    blue = _box((3, 3, 1), (0, 0, -1), color=BLUE, shading="unlit")
    for meshes, red_id in (([red, blue], 0), ([blue, red], 1)):
        result = rasterize(meshes, FRONT, background=WHITE, antialias=1)
        assert tuple(result.image[32, 32]) == (255, 0, 0)
        assert result.mesh_id[32, 32] == red_id
        # Around the red box, the larger blue box shows.
        assert tuple(result.image[32, 12]) == (0, 0, 255)
        assert result.mesh_id[32, 12] == 1 - red_id


def test_pixels_outside_the_silhouette_are_background():
    box = _box((1, 0.6, 0.4), (0.3, -0.2, 0))
    result = rasterize([box], FRONT, background=(0.2, 0.4, 0.6), antialias=2)
    uv, _ = FRONT.project(box.vertices)
    (x0, y0), (x1, y1) = np.floor(uv.min(0)).astype(int), np.ceil(uv.max(0)).astype(int)
    outside = np.ones((64, 64), bool)
    outside[y0:y1, x0:x1] = False
    assert (result.image[outside] == [51, 102, 153]).all()
    assert (result.mesh_id[outside] == -1).all() and np.isinf(result.depth[outside]).all()
    assert (result.mesh_id[y0:y1, x0:x1] == 0).mean() > 0.8


def test_mesh_at_plus_x_appears_on_the_image_right():
    result = rasterize([_box((0.5, 0.5, 0.5), (1.0, 0, 0))], FRONT, antialias=1)
    columns = np.nonzero(result.mesh_id == 0)[1]
    assert columns.size and columns.min() > 32


def test_antialiasing_makes_intermediate_edge_colours():
    quad = _quad(20.0, color=RED, shading="unlit")  # slanted edges, not pixel-aligned
    sharp = render_meshes([quad], FRONT, background=WHITE, antialias=1)
    smooth = render_meshes([quad], FRONT, background=WHITE, antialias=2)
    assert {tuple(c) for c in sharp.reshape(-1, 3)} == {(255, 0, 0), (255, 255, 255)}
    green = smooth[..., 1]
    assert ((green > 0) & (green < 255)).sum() > 10
    assert (smooth[..., 0] == 255).all()  # red over white: only green and blue blend


def test_head_on_face_is_brighter_than_grazing_face():
    head_on = render_meshes([_quad(0.0, color=WHITE)], FRONT, background=(0, 0, 0), antialias=1)
    grazing = render_meshes([_quad(75.0, color=WHITE)], FRONT, background=(0, 0, 0), antialias=1)
    lit, dim = head_on[head_on.sum(-1) > 0], grazing[grazing.sum(-1) > 0]
    assert lit.size and dim.size
    assert lit.mean() > dim.mean() + 40
    assert dim.min() >= int(rasterizer.AMBIENT * 255) - 1


def test_back_faces_are_culled_unless_double_sided():
    away = _quad(180.0, color=RED)
    assert (rasterize([away], FRONT, antialias=1).mesh_id == -1).all()
    both = rasterize([_quad(180.0, color=RED, double_sided=True)], FRONT, antialias=1)
    assert (both.mesh_id == 0).sum() > 100
    # Lit from its visible side: brighter than ambient alone.
    assert both.image[both.mesh_id == 0][:, 0].mean() > rasterizer.AMBIENT * 255 + 40


def test_closed_mesh_has_no_cracks():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    camera = Camera.look_at((0.3, 0.2, 4), (0, 0, 0), fov_deg=35, width=96, height=96)
    result = rasterize([Mesh(sphere.vertices, sphere.faces)], camera, antialias=1)
    covered = result.mesh_id == 0
    rows, cols = np.nonzero(covered)
    centre = np.array([rows.mean(), cols.mean()])
    radius = np.sqrt(covered.sum() / np.pi)
    yy, xx = np.mgrid[:96, :96]
    well_inside = np.hypot(yy - centre[0], xx - centre[1]) < 0.9 * radius
    assert covered[well_inside].all()


def test_depth_buffer_holds_camera_depth():
    box = _box((1, 1, 1), (0, 0, 0))
    result = rasterize([box], FRONT, antialias=2)
    # The front face (z = 0.5) is perpendicular to the view: depth 4.5 everywhere on it.
    np.testing.assert_allclose(result.depth[28:36, 28:36], 4.5, rtol=1e-9)


def test_vertex_colours_are_interpolated():
    quad = _quad(0.0, shading="unlit", vertex_colors=[RED, BLUE, BLUE, RED])
    image = render_meshes([quad], FRONT, antialias=1).astype(int)
    left, right = image[32, 24], image[32, 40]
    assert left[0] > left[2] and right[2] > right[0]
    middle = image[32, 31:33].mean(axis=0)
    assert abs(middle[0] - middle[2]) < 30


def test_interpolation_is_perspective_correct():
    quad = _quad(60.0, shading="unlit", vertex_colors=[RED, BLUE, BLUE, RED])
    camera = Camera.look_at((0, 0, 1.2), (0, 0, 0), fov_deg=70, width=128, height=128)
    image = render_meshes([quad], camera, antialias=1).astype(int)
    # The quad's middle (red and blue equally) projects away from its on-screen middle.
    u, v = camera.project(np.zeros((1, 3)))[0][0]
    red, _, blue = image[int(v), int(u)]
    assert abs(red - blue) < 12
    columns = np.nonzero(image[int(v), :, 0] + image[int(v), :, 2] < 400)[0]
    on_screen_middle = image[int(v), (columns.min() + columns.max()) // 2]
    assert abs(on_screen_middle[0] - on_screen_middle[2]) > 40


def test_face_colours_and_background_image():
    box = trimesh.creation.box(extents=(1, 1, 1))
    colors = np.tile([0.0, 1.0, 0.0], (len(box.faces), 1))
    backdrop = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    mesh = Mesh(box.vertices, box.faces, face_colors=colors, shading="unlit")
    result = rasterize([mesh], FRONT, background=backdrop, antialias=2)
    assert tuple(result.image[32, 32]) == (0, 255, 0)
    assert (result.image[:2] == backdrop[:2]).all()


def test_chunking_does_not_change_the_picture(monkeypatch):
    sphere = trimesh.creation.icosphere(subdivisions=2)
    meshes = [Mesh(sphere.vertices, sphere.faces), _box((3, 3, 0.1), (0, 0, -1.5), color=BLUE)]
    whole = rasterize(meshes, FRONT, antialias=2)
    monkeypatch.setattr(rasterizer, "_CHUNK", 37)
    pieces = rasterize(meshes, FRONT, antialias=2)
    assert (whole.image == pieces.image).all() and (whole.mesh_id == pieces.mesh_id).all()


def test_empty_scene_and_mesh_behind_camera_give_background():
    behind = _box((1, 1, 1), (0, 0, 8))
    for meshes in ([], [behind]):
        result = rasterize(meshes, FRONT, background=(0.0, 0.5, 1.0))
        assert (result.image == [0, 128, 255]).all() and (result.mesh_id == -1).all()


def test_accepts_torch_tensors():
    box = trimesh.creation.box()
    mesh = Mesh(torch.tensor(box.vertices, dtype=torch.float32), torch.tensor(box.faces))
    assert (rasterize([mesh], FRONT).mesh_id == 0).any()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Mesh(np.zeros((4, 2)), [[0, 1, 2]]),
        lambda: Mesh([[0, 0, 0], [1, 0, 0], [0, np.nan, 0]], [[0, 1, 2]]),
        lambda: Mesh(np.zeros((3, 3)), [[0, 1, 3]]),
        lambda: Mesh(np.zeros((3, 3)), [[0, 1, -1]]),
        lambda: Mesh(np.zeros((3, 3)), [[0, 1, 1.5]]),
        lambda: Mesh(np.zeros((0, 3)), np.zeros((0, 3), int)),
        lambda: Mesh(np.zeros((3, 3)), np.zeros((0, 3), int)),
        lambda: Mesh(np.zeros((3, 3)), [[0, 1, 2]], color=(2.0, 0.0, 0.0)),
        lambda: Mesh(np.zeros((3, 3)), [[0, 1, 2]], vertex_colors=np.zeros((2, 3))),
        lambda: Mesh(np.zeros((3, 3)), [[0, 1, 2]], shading="glossy"),
        lambda: Mesh(np.array([["a", "b", "c"]]), [[0, 0, 0]]),
    ],
)
def test_bad_meshes_raise(make):
    with pytest.raises(InvalidInputError):
        make()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"antialias": 0},
        {"antialias": 5},
        {"antialias": 1.5},
        {"background": np.zeros((10, 10, 3), np.uint8)},
        {"background": (0.0, 2.0, 0.0)},
        {"camera": Camera.look_at((0, 0, 5), (0, 0, 0), width=4096, height=4096), "antialias": 2},
        {"meshes": ["not a mesh"]},
    ],
)
def test_bad_render_arguments_raise(kwargs):
    arguments = {"meshes": [_box((1, 1, 1), (0, 0, 0))], "camera": FRONT} | kwargs
    with pytest.raises(InvalidInputError):
        rasterize(**arguments)

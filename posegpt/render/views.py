"""Pictures of posed bodies: side-by-side view panels with a floor shadow, and PNG output."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from posegpt.errors import InvalidInputError, PoseGPTError
from posegpt.files import atomic_path
from posegpt.render.camera import frame_bodies, view_axes
from posegpt.render.checks import as_array, as_rgb
from posegpt.render.mesh import DEFAULT_COLOR, Mesh
from posegpt.render.rasterizer import DEFAULT_BACKGROUND, render_meshes

#: Body colours, one per body in order (cycled).
PALETTE = (
    DEFAULT_COLOR,
    (0.86, 0.62, 0.47),
    (0.58, 0.76, 0.58),
    (0.74, 0.62, 0.86),
    (0.88, 0.80, 0.50),
    (0.52, 0.74, 0.82),
)
MAX_BODIES = 16
#: Gap between bodies in a panel, as a fraction of the tallest body's height.
GAP = 0.12
#: How far the eye is raised above the horizontal in the non-top views, so the floor shows.
ELEVATION_DEG = 10.0
SHADOW_DARKNESS = 0.18


def render_pose_views(
    vertices: object,
    faces: object,
    size: int = 256,
    views: Sequence[str] = ("front", "side"),
    colors: object = None,
    antialias: int = 2,
) -> np.ndarray:
    """Render one or several posed bodies from each named view; panels side by side.

    vertices: one body (V, 3), a batch (B, V, 3) or a list of (V, 3) arrays (numpy or torch),
    y-up as the body models give them; all share `faces` (F, 3). Each body stands on the floor
    (its lowest point at y = 0); several bodies stand side by side in every panel, the first on
    the left. size: side of each square panel in pixels; views: names from
    `posegpt.render.camera.VIEWS`; colors: None (a palette), one RGB or one RGB per body, floats
    in [0, 1]. Returns an (size, size * len(views), 3) uint8 image.
    """
    bodies = _as_bodies(vertices)
    body_colors = _body_colors(colors, len(bodies))
    if isinstance(views, str) or len(views) == 0:
        raise InvalidInputError("views must be a non-empty list of view names")
    rights = [view_axes(view)[2] for view in views]  # also checks the names
    faces = Mesh(bodies[0], faces).faces  # checked once, before any rendering
    height = max(float(np.ptp(b[:, 1])) for b in bodies)
    grounded = []
    for body in bodies:
        low, high = body.min(axis=0), body.max(axis=0)
        grounded.append(body - [(low[0] + high[0]) / 2, low[1], (low[2] + high[2]) / 2])
    panels = []
    for view, right in zip(views, rights, strict=True):
        placed = _side_by_side(grounded, right, GAP * height)
        shadows = [_shadow(b, height) for b in placed]
        camera = frame_bodies(
            placed + [s.vertices for s in shadows], view, size, elevation_deg=ELEVATION_DEG
        )
        meshes = shadows + [
            Mesh(b, faces, color=c) for b, c in zip(placed, body_colors, strict=True)
        ]
        panels.append(render_meshes(meshes, camera, DEFAULT_BACKGROUND, antialias))
    return np.concatenate(panels, axis=1)


def save_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an (H, W, 3) or (H, W, 4) uint8 image to `path` as PNG, atomically."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidInputError(
            f"save_png needs an (H, W, 3) or (H, W, 4) uint8 image, got {image.dtype} {image.shape}"
        )
    with atomic_path(path) as tmp:
        try:
            Image.fromarray(image).save(tmp, format="PNG")
        except OSError as err:
            raise PoseGPTError(f"cannot write {path}: {err.strerror or err}") from err


def _as_bodies(vertices: object) -> list[np.ndarray]:
    if hasattr(vertices, "shape") and len(vertices.shape) == 3:
        vertices = list(vertices)
    elif hasattr(vertices, "shape") or not isinstance(vertices, Sequence):
        vertices = [vertices]
    if not 1 <= len(vertices) <= MAX_BODIES:
        raise InvalidInputError(f"render 1..{MAX_BODIES} bodies, got {len(vertices)}")
    bodies = [as_array(v, "body vertices", (None, 3)) for v in vertices]
    if any(len(b) != len(bodies[0]) or len(b) == 0 for b in bodies):
        raise InvalidInputError("all bodies must have the same, non-zero number of vertices")
    return bodies


def _body_colors(colors: object, count: int) -> list[np.ndarray]:
    if colors is None:
        return [np.asarray(PALETTE[i % len(PALETTE)]) for i in range(count)]
    array = np.asarray(colors)
    if array.ndim == 1:
        return [as_rgb(array, "colors")] * count
    return list(as_rgb(array, "colors", (count, 3)))


def _side_by_side(bodies: list[np.ndarray], right: np.ndarray, gap: float) -> list[np.ndarray]:
    """Shift the bodies along `right` (the image's right) so that they stand apart, centred."""
    along = [b @ right for b in bodies]
    widths = np.array([a.max() - a.min() for a in along])
    starts = np.cumsum(np.concatenate([[0.0], widths[:-1] + gap]))
    starts -= (starts[-1] + widths[-1]) / 2
    return [b + (s - a.min()) * right for b, a, s in zip(bodies, along, starts, strict=True)]


def _shadow(body: np.ndarray, height: float, segments: int = 48) -> Mesh:
    """A soft elliptical shadow on the floor (y = 0) under `body`, fading into the background."""
    centre = (body.min(axis=0) + body.max(axis=0)) / 2
    radii = (np.ptp(body[:, [0, 2]], axis=0) / 2 + 0.08 * height)[:, None]
    angle = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([np.cos(angle), np.sin(angle)])
    rings = [centre[[0, 2], None] + scale * radii * ring for scale in (0.6, 1.0)]
    floor = -1e-3 * height  # just below the soles, so they win the depth test
    xz = np.concatenate([centre[[0, 2], None]] + rings, axis=1)
    vertices = np.stack([xz[0], np.full(xz.shape[1], floor), xz[1]], axis=1)
    nxt = (np.arange(segments) + 1) % segments
    inner, outer = 1 + np.arange(segments), 1 + segments + np.arange(segments)
    faces = np.concatenate(
        [
            np.stack([np.zeros(segments, int), inner[nxt], inner], axis=1),
            np.stack([inner, inner[nxt], outer[nxt]], axis=1),
            np.stack([inner, outer[nxt], outer], axis=1),
        ]
    )
    background = np.asarray(DEFAULT_BACKGROUND)
    darkness = np.concatenate([[1.0], np.full(segments, 0.6), np.zeros(segments)])
    colors = background * (1.0 - SHADOW_DARKNESS * darkness[:, None])
    return Mesh(vertices, faces, vertex_colors=colors, shading="unlit", double_sided=True)

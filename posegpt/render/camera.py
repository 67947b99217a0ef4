"""Pinhole cameras, named views and framing of bodies.

Conventions: the world is y-up (bodies face +z, the subject's left at +x). Camera space is
OpenCV's: x to the image right, y to the image bottom, z forward (depth is positive in front of
the camera). Pixel coordinates are continuous: pixel (row i, column j) covers [j, j+1) x [i, i+1),
so its centre is (j + 0.5, i + 0.5); the principal point defaults to the image centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posegpt.errors import InvalidInputError
from posegpt.render.checks import as_array

#: Largest image side (pixels) the renderer accepts.
MAX_IMAGE_SIZE = 4096

#: Named views: (direction from the subject toward the eye, image-up direction), world space.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "front": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "side": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "back": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    "top": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
}


def _unit(vector: np.ndarray, name: str) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if norm < 1e-12:
        raise InvalidInputError(f"{name} has zero length")
    return vector / norm


def _check_size(width: object, height: object) -> tuple[int, int]:
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_IMAGE_SIZE:
            raise InvalidInputError(
                f"image {name} must be a whole number of pixels in 1..{MAX_IMAGE_SIZE}, "
                f"got {value!r}"
            )
    return int(width), int(height)


@dataclass(frozen=True, eq=False)
class Camera:
    """A perspective pinhole camera.

    focal:           focal length in pixels (same for x and y)
    width, height:   image size in pixels
    rotation:        (3, 3) world -> camera rotation; its rows are the camera's x (image right),
                     y (image down) and z (viewing direction) axes in world coordinates
    position:        (3,) camera centre in world coordinates; a world point p has camera
                     coordinates rotation @ (p - position)
    principal_point: (cx, cy) in pixels, None for the image centre
    """

    focal: float
    width: int
    height: int
    rotation: np.ndarray
    position: np.ndarray
    principal_point: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        _check_size(self.width, self.height)
        if not np.isfinite(self.focal) or self.focal <= 0:
            raise InvalidInputError(f"focal length must be a positive number, got {self.focal!r}")
        rotation = as_array(self.rotation, "camera rotation", (3, 3))
        if (
            not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-5)
            or np.linalg.det(rotation) < 0
        ):
            raise InvalidInputError("camera rotation must be a proper rotation matrix")
        object.__setattr__(self, "rotation", rotation)
        object.__setattr__(self, "position", as_array(self.position, "camera position", (3,)))
        if self.principal_point is not None:
            cx, cy = as_array(self.principal_point, "principal point", (2,))
            object.__setattr__(self, "principal_point", (float(cx), float(cy)))

    @classmethod
    def look_at(
        cls,
        eye: Sequence[float],
        target: Sequence[float],
        up: Sequence[float] = (0.0, 1.0, 0.0),
        fov_deg: float = 30.0,
        width: int = 256,
        height: int = 256,
    ) -> Camera:
        """A camera at `eye` looking at `target`, `up` pointing to the image top; `fov_deg` is
        the vertical field of view."""
        if not 0.1 <= fov_deg <= 170.0:
            raise InvalidInputError(f"fov_deg must be in [0.1, 170], got {fov_deg}")
        _, height = _check_size(width, height)
        eye = as_array(eye, "eye", (3,))
        forward = _unit(as_array(target, "target", (3,)) - eye, "target - eye")
        right = np.cross(forward, as_array(up, "up", (3,)))
        right = _unit(right, "up x viewing direction (up is parallel to the viewing direction)")
        down = np.cross(forward, right)
        focal = 0.5 * height / np.tan(np.radians(fov_deg) / 2.0)
        return cls(float(focal), width, height, np.stack([right, down, forward]), eye)

    @property
    def center(self) -> tuple[float, float]:
        """The principal point (cx, cy) in pixels."""
        return self.principal_point or (self.width / 2.0, self.height / 2.0)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 3) camera coordinates (z: depth along the view)."""
        return (points - self.position) @ self.rotation.T

    def project(self, points: object) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) world points -> ((N, 2) pixel coordinates (x right, y down), (N,) depth).

        Points at or behind the camera (depth <= 0) get NaN pixel coordinates.
        """
        cam = self.to_camera(as_array(points, "points", (None, 3)))
        depth = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = self.focal * cam[:, :2] / depth[:, None] + np.asarray(self.center)
        uv[depth <= 0] = np.nan
        return uv, depth

    def scaled(self, factor: int) -> Camera:
        """The same view at `factor` times the resolution (used for supersampling)."""
        cx, cy = self.center
        return Camera(
            self.focal * factor,
            self.width * factor,
            self.height * factor,
            self.rotation,
            self.position,
            (cx * factor, cy * factor),
        )


def view_axes(view: str, elevation_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a named view, unit world vectors (toward the eye, image up, image right).

    `elevation_deg` raises the eye above the horizontal (ignored for "top"). In the front view
    the subject's left (+x) is on the image right, as in a photo of someone facing you; the
    side view looks from the subject's left (+x) toward -x.
    """
    if view not in VIEWS:
        raise InvalidInputError(f"unknown view {view!r}; choose from {', '.join(VIEWS)}")
    toward_eye, up = (np.array(v) for v in VIEWS[view])
    if view != "top":
        angle = np.radians(elevation_deg)
        toward_eye, up = (
            np.cos(angle) * toward_eye + np.sin(angle) * up,
            np.cos(angle) * up - np.sin(angle) * toward_eye,
        )
    return toward_eye, up, np.cross(up, toward_eye)


def frame_bodies(
    vertices_list: Sequence[object],
    view: str = "front",
    size: int | tuple[int, int] = 256,
    margin: float = 0.06,
    fov_deg: float = 30.0,
    elevation_deg: float = 0.0,
) -> Camera:
    """A camera for a named view (see `view_axes`) that shows every given vertex.

    vertices_list: (V, 3) arrays, one such array or a (B, V, 3) batch; size: side of a square
    image or (width, height); margin: free border as a fraction of the image size on each side.
    """
    if not 0.0 <= margin < 0.45:
        raise InvalidInputError(f"margin must be in [0, 0.45), got {margin}")
    if hasattr(vertices_list, "shape") and len(vertices_list.shape) == 2:
        vertices_list = [vertices_list]
    if len(vertices_list) == 0:
        raise InvalidInputError("frame_bodies needs at least one vertex array")
    points = np.concatenate([as_array(v, "vertices", (None, 3)) for v in vertices_list])
    if len(points) == 0:
        raise InvalidInputError("frame_bodies needs at least one vertex")
    width, height = (size, size) if isinstance(size, (int, np.integer)) else size
    width, height = _check_size(width, height)
    toward_eye, up, right = view_axes(view, elevation_deg)

    axes = np.stack([right, up, toward_eye])
    local = points @ axes.T
    target_local = (local.min(0) + local.max(0)) / 2.0
    local -= target_local
    tan_y = np.tan(np.radians(fov_deg) / 2.0) * (1.0 - 2.0 * margin)
    tan_x = tan_y * width / height
    # The eye sits at `distance` along toward_eye; a point at (a, b, c) projects inside the
    # usable area when |a| <= tan_x * (distance - c) and |b| <= tan_y * (distance - c).
    needed = local[:, 2] + np.maximum(np.abs(local[:, 0]) / tan_x, np.abs(local[:, 1]) / tan_y)
    extent = float(np.ptp(local, axis=0).max())
    distance = max(float(needed.max()), float(local[:, 2].max()) + 0.05 * extent + 1e-3)
    target = target_local @ axes
    return Camera.look_at(target + distance * toward_eye, target, up, fov_deg, width, height)

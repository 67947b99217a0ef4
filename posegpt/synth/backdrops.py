"""Scene backgrounds drawn behind the people: solid colours, vertical gradients, and a room
(floor, back wall, optionally a door) in which each person casts a soft shadow.

The room is geometry (floor y = 0, wall z = `wall_z`, door on the wall) drawn through the
scene camera, so people stand on its floor and "near the door" means near it in the world.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from posegpt.render import Camera

KINDS = ("solid", "gradient", "room")
DOOR_WIDTH, DOOR_HEIGHT = 0.9, 2.05
SHADOW_DARKNESS = 0.55


@dataclass(frozen=True)
class Backdrop:
    """A background. Colours are RGB floats in [0, 1]: one (solid), top and bottom (gradient),
    or wall and floor (room). `door_x`: centre of the door on the wall, None for no door."""

    kind: str
    colors: tuple[tuple[float, float, float], ...]
    wall_z: float | None = None
    door_x: float | None = None
    door_color: tuple[float, float, float] | None = None


def _muted(rng: np.random.Generator, low: float, high: float) -> tuple[float, float, float]:
    """A random desaturated colour with brightness in [low, high]."""
    grey = rng.uniform(low, high)
    return tuple(float(c) for c in np.clip(grey + rng.uniform(-0.12, 0.12, 3), 0.0, 1.0))


def sample_backdrop(
    rng: np.random.Generator, camera: Camera, behind_z: float, door_chance: float = 0.4
) -> Backdrop:
    """A random backdrop; a room's wall stands 0.4-1.5 m behind `behind_z` (the rearmost body
    point) and its door, when there is one, is in the picture."""
    kind = KINDS[rng.integers(len(KINDS))]
    if kind == "solid":
        return Backdrop(kind, (_muted(rng, 0.3, 0.95),))
    if kind == "gradient":
        return Backdrop(kind, (_muted(rng, 0.55, 0.95), _muted(rng, 0.2, 0.6)))
    wall_z = behind_z - float(rng.uniform(0.4, 1.5))
    colors = (_muted(rng, 0.6, 0.95), _muted(rng, 0.25, 0.6))
    if rng.random() >= door_chance:
        return Backdrop(kind, colors, wall_z)
    for _ in range(8):
        door_x = float(camera.position[0] + rng.uniform(-2.5, 2.5))
        corners, _ = camera.project(_door_corners(door_x, wall_z))
        if (
            np.all(np.isfinite(corners))
            and 0 <= corners[:, 0].min() <= corners[:, 0].max() < camera.width
        ):
            return Backdrop(kind, colors, wall_z, door_x, _muted(rng, 0.2, 0.7))
    return Backdrop(kind, colors, wall_z)


def _door_corners(door_x: float, wall_z: float) -> np.ndarray:
    x0, x1 = door_x - DOOR_WIDTH / 2, door_x + DOOR_WIDTH / 2
    return np.array(
        [[x0, 0, wall_z], [x1, 0, wall_z], [x1, DOOR_HEIGHT, wall_z], [x0, DOOR_HEIGHT, wall_z]]
    )


def _to_uint8(color: Sequence[float]) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in color)


def draw_backdrop(
    backdrop: Backdrop, camera: Camera, shadows: Sequence[tuple[float, float, float]] = ()
) -> np.ndarray:
    """(H, W, 3) uint8 background for `camera`. `shadows`: (x, z, radius) discs on the floor,
    drawn for rooms only."""
    h, w = camera.height, camera.width
    if backdrop.kind == "solid":
        return np.broadcast_to(np.array(_to_uint8(backdrop.colors[0]), np.uint8), (h, w, 3)).copy()
    top, bottom = (np.array(c, np.float32) for c in backdrop.colors)
    if backdrop.kind == "gradient":
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
        column = (1 - t) * top + t * bottom
        return np.broadcast_to(np.rint(column * 255).astype(np.uint8)[:, None], (h, w, 3)).copy()
    return _draw_room(backdrop, camera, shadows)


def _draw_room(
    backdrop: Backdrop, camera: Camera, shadows: Sequence[tuple[float, float, float]]
) -> np.ndarray:
    h, w = camera.height, camera.width
    wall, floor = (np.array(c, np.float32) for c in backdrop.colors)
    uv, _ = camera.project(np.array([[camera.position[0], 0.0, backdrop.wall_z]]))
    horizon = float(uv[0, 1])
    rows = np.arange(h, dtype=np.float32)[:, None] + 0.5
    # The floor darkens toward the wall, a cheap depth cue.
    shade = np.clip((rows - horizon) / max(h - horizon, 1.0), 0.0, 1.0)
    column = np.where(rows < horizon, wall, floor * (0.8 + 0.2 * shade))
    image = Image.fromarray(
        np.broadcast_to(np.rint(column * 255).astype(np.uint8)[:, None], (h, w, 3))
    )
    if backdrop.door_x is not None:
        corners, _ = camera.project(_door_corners(backdrop.door_x, backdrop.wall_z))
        door = _to_uint8(backdrop.door_color)
        frame = _to_uint8(np.array(backdrop.door_color) * 0.6)
        ImageDraw.Draw(image).polygon(
            [tuple(p) for p in corners], fill=door, outline=frame, width=max(1, w // 150)
        )
        knob = corners[1] + (corners[2] - corners[1]) * 0.47 + (corners[0] - corners[1]) * 0.12
        r = max(1.0, w / 200)
        ImageDraw.Draw(image).ellipse([*(knob - r), *(knob + r)], fill=frame)
    if shadows:
        mask = Image.new("L", (w, h), 0)
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        for x, z, radius in shadows:
            ring = np.stack(
                [x + radius * np.cos(angles), np.zeros_like(angles), z + radius * np.sin(angles)], 1
            )
            points, depth = camera.project(ring)
            if np.all(depth > 0):
                ImageDraw.Draw(mask).polygon([tuple(p) for p in points], fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(max(1.0, w / 120)))
        darkness = 1.0 - SHADOW_DARKNESS * np.asarray(mask, np.float32)[..., None] / 255.0
        image = Image.fromarray(np.rint(np.asarray(image, np.float32) * darkness).astype(np.uint8))
    return np.asarray(image).copy()

"""A pure-numpy z-buffer triangle rasteriser with Lambert shading and supersampled anti-aliasing.

Triangles are scan-converted row by row: each triangle becomes one span per pixel row it
crosses, each span one fragment per pixel centre it covers (so no fragment is wasted on a
bounding box). Every fragment carries a 64-bit key, quantised depth in the high bits and the
triangle index in the low bits, and `np.minimum.at` keeps the nearest key per pixel. Only the
visible samples are then shaded, with perspective-correct interpolation of colours and normals.
Shared edges follow a half-open rule, so closed meshes show no cracks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from posegpt.errors import InvalidInputError
from posegpt.render.camera import Camera
from posegpt.render.checks import as_rgb
from posegpt.render.mesh import MAX_FACES, Mesh

DEFAULT_BACKGROUND = (0.93, 0.93, 0.92)
#: Largest supersampling factor (samples per pixel = antialias ** 2).
MAX_ANTIALIAS = 4
#: Most samples (pixels x antialias ** 2) one picture may take, to bound memory (~1 GB).
MAX_SAMPLES = 4096 * 4096
#: Triangles closer to the camera than this (world units) are not drawn.
NEAR = 1e-3
AMBIENT, DIFFUSE = 0.35, 0.7
#: Camera-space direction toward the light: a headlight slightly above and left of the viewer.
LIGHT = np.array([-0.3, -0.5, -1.0]) / np.linalg.norm([-0.3, -0.5, -1.0])

_EMPTY = np.iinfo(np.int64).max
_DEPTH_LEVELS = 2**31 - 1
_CHUNK = 1 << 20  # spans or fragments handled at once, to bound memory


@dataclass
class RenderResult:
    """image: (H, W, 3) uint8; depth: (H, W) float camera depth of the nearest surface (inf
    where none); mesh_id: (H, W) int32 index into the rendered meshes of that surface (-1 where
    none). With anti-aliasing, depth and mesh_id come from the nearest sample of each pixel."""

    image: np.ndarray
    depth: np.ndarray
    mesh_id: np.ndarray


@dataclass
class _Scene:
    """All meshes as one triangle soup."""

    vertices: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3)
    attributes: np.ndarray  # (F, 3, 6) float32 colour and world normal at each corner
    mesh_id: np.ndarray  # (F,)
    lit: np.ndarray  # (F,) bool
    double_sided: np.ndarray  # (F,) bool


def render_meshes(
    meshes: Sequence[Mesh],
    camera: Camera,
    background: object = DEFAULT_BACKGROUND,
    antialias: int = 2,
) -> np.ndarray:
    """Render `meshes` seen by `camera` to an (H, W, 3) uint8 image (see `rasterize`)."""
    return rasterize(meshes, camera, background, antialias).image


def rasterize(
    meshes: Sequence[Mesh],
    camera: Camera,
    background: object = DEFAULT_BACKGROUND,
    antialias: int = 2,
) -> RenderResult:
    """Render `meshes` seen by `camera`; also return per-pixel depth and mesh index.

    background: an RGB colour (floats in [0, 1]) or an (H, W, 3) uint8 image of the camera's size.
    antialias: samples per pixel along each axis (1 = none, 2 = 4 samples per pixel).
    """
    if isinstance(meshes, Mesh):
        meshes = [meshes]
    if not all(isinstance(m, Mesh) for m in meshes):
        raise InvalidInputError("meshes must be a list of posegpt.render.Mesh")
    if not isinstance(antialias, (int, np.integer)) or not 1 <= antialias <= MAX_ANTIALIAS:
        raise InvalidInputError(f"antialias must be a whole number in 1..{MAX_ANTIALIAS}")
    if camera.width * camera.height * antialias**2 > MAX_SAMPLES:
        raise InvalidInputError(
            f"{camera.width}x{camera.height} pixels with antialias={antialias} is more than "
            f"{MAX_SAMPLES} samples: lower the size or the antialias factor"
        )
    if sum(len(m.faces) for m in meshes) > MAX_FACES:
        raise InvalidInputError(f"the meshes have more than {MAX_FACES} faces in all")
    backdrop = _background(background, camera)
    big = camera.scaled(int(antialias))
    film = _Film(camera, int(antialias))
    scene = _merge(meshes) if meshes else None
    tris = _setup_triangles(scene, big) if scene is not None else None
    if tris is None:
        return film.develop(backdrop, np.zeros(0, np.int32))
    zbuffer = np.full(big.width * big.height, _EMPTY, dtype=np.int64)
    for rows in _chunks(tris.num_rows):
        _draw_spans(tris, rows, big, zbuffer)
    for start in range(0, len(zbuffer), _CHUNK):
        pixel = np.flatnonzero(zbuffer[start : start + _CHUNK] != _EMPTY) + start
        if len(pixel):
            key = np.take(zbuffer, pixel)
            film.add(pixel, key, *_shade(scene, tris, pixel, key, big))
    return film.develop(backdrop, np.take(scene.mesh_id, tris.face))


def _background(background: object, camera: Camera) -> np.ndarray:
    """The background as float32, (3,) or (H, W, 3), in [0, 1]."""
    array = np.asarray(background)
    if array.ndim == 3:
        shape = (camera.height, camera.width, 3)
        if array.shape != shape or array.dtype != np.uint8:
            raise InvalidInputError(
                f"a background image must be uint8 of shape {shape}, "
                f"got {array.dtype} {array.shape}"
            )
        return array.astype(np.float32) / 255.0
    return as_rgb(background, "background colour")


def _merge(meshes: Sequence[Mesh]) -> _Scene:
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    sizes = [len(m.faces) for m in meshes]
    attributes = [np.concatenate([m.corner_colors(), m.corner_normals()], axis=2) for m in meshes]
    return _Scene(
        vertices=np.concatenate([m.vertices for m in meshes]),
        faces=np.concatenate([m.faces + o for m, o in zip(meshes, offsets, strict=True)]),
        attributes=np.concatenate(attributes).astype(np.float32),
        mesh_id=np.repeat(np.arange(len(meshes), dtype=np.int32), sizes),
        lit=np.repeat([m.shading != "unlit" for m in meshes], sizes),
        double_sided=np.repeat([m.double_sided for m in meshes], sizes),
    )


@dataclass
class _Triangles:
    """Screen-space set-up of the drawable triangles (index t into these arrays)."""

    face: np.ndarray  # (T,) index into the scene's faces
    first_row: np.ndarray  # (T,) first pixel row whose centre the triangle covers
    num_rows: np.ndarray  # (T,)
    # (T, 9): corner x then corner y, corners ordered top to bottom, then the plane
    # (a, b, c) of the quantised depth key a * x + b * y + c at pixel centres (x, y).
    scan: np.ndarray
    # (T, 3, 3): for each corner k, (A, B, C) with A * x + B * y + C its perspective-correct
    # barycentric weight divided by depth; the three weights sum to 1 / depth.
    weights: np.ndarray
    flip: np.ndarray  # (T,) True where a double-sided face is seen from behind


def _setup_triangles(scene: _Scene, camera: Camera) -> _Triangles | None:
    """Project, cull (behind the camera, back-facing, degenerate, off-screen) and set up."""
    uv, depth = camera.project(scene.vertices)
    # Corner-major (3, F) arrays: reductions over the corners run fast along axis 0.
    corners = scene.faces.T
    z = np.take(depth, corners)
    x = np.nan_to_num(np.take(uv[:, 0], corners))
    y = np.nan_to_num(np.take(uv[:, 1], corners))
    # Twice the signed area; y points down, so counter-clockwise (front-facing) triangles
    # have a negative area.
    area = (x[1] - x[0]) * (y[2] - y[0]) - (x[2] - x[0]) * (y[1] - y[0])
    keep = (z.min(axis=0) > NEAR) & ((area < 0) | (scene.double_sided & (area > 0)))
    first_row = np.ceil(y.min(axis=0) - 0.5).clip(0, camera.height).astype(np.int64)
    end_row = np.ceil(y.max(axis=0) - 0.5).clip(0, camera.height).astype(np.int64)
    keep &= (end_row > first_row) & (x.max(axis=0) > 0) & (x.min(axis=0) < camera.width)
    face = np.flatnonzero(keep)
    if len(face) == 0:
        return None
    x, y, z, area = x[:, face], y[:, face], z[:, face], area[face]
    # Edge function of corner k: A x + B y + C, zero on the opposite edge, `area` at corner k.
    x_next, y_next, x_prev, y_prev = x[[1, 2, 0]], y[[1, 2, 0]], x[[2, 0, 1]], y[[2, 0, 1]]
    edges = np.stack([y_next - y_prev, x_prev - x_next, x_next * y_prev - x_prev * y_next], axis=2)
    weights = edges / (area * z)[:, :, None]

    # 1/z is affine in screen space; map it to integer depth keys (0 = nearest visible vertex,
    # _DEPTH_LEVELS = farthest) so that keys order by depth.
    inv = 1.0 / z
    near, far = inv.max(), inv.min()
    scale = _DEPTH_LEVELS / (near - far) if near > far else 0.0
    plane = (np.array([0.0, 0.0, near]) - weights.sum(axis=0)) * scale
    order = np.argsort(y, axis=0, kind="stable")
    x_by_y, y_by_y = np.take_along_axis(x, order, axis=0), np.take_along_axis(y, order, axis=0)
    return _Triangles(
        face=face,
        first_row=first_row[face],
        num_rows=end_row[face] - first_row[face],
        scan=np.concatenate([x_by_y.T, y_by_y.T, plane], axis=1),
        weights=np.ascontiguousarray(weights.transpose(1, 0, 2)),
        flip=area > 0,
    )


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with `counts` children each: (owner item, index within the owner) per child."""
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(len(owner)) - np.take(starts, owner)


def _chunks(counts: np.ndarray) -> Iterator[slice]:
    """Consecutive slices of items whose counts add up to about _CHUNK (at least one item)."""
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(_CHUNK, ends[-1], _CHUNK), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(counts)]]))
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        yield slice(int(start), int(stop))


def _edge_x(xa, ya, xb, yb, yc):
    """x where the edge (a -> b, ya < yb) crosses the line y = yc. Both triangles sharing an
    edge order its ends by y, so they compute bit-identical crossings (no cracks)."""
    return xa + (yc - ya) * (xb - xa) / (yb - ya)


def _draw_spans(tris: _Triangles, rows: slice, camera: Camera, zbuffer: np.ndarray) -> None:
    """Scan-convert triangles `rows` into the z-buffer of packed (depth, triangle) keys."""
    tri, row = _expand(tris.num_rows[rows])
    tri += rows.start
    row += np.take(tris.first_row, tri)
    yc = row + 0.5
    x0, x1, x2, y0, y1, y2, a, b, c = np.take(tris.scan, tri, axis=0).T
    with np.errstate(divide="ignore", invalid="ignore"):
        long_edge = _edge_x(x0, y0, x2, y2, yc)
        short_edge = np.where(yc < y1, _edge_x(x0, y0, x1, y1, yc), _edge_x(x1, y1, x2, y2, yc))
    first = np.ceil(np.minimum(long_edge, short_edge) - 0.5).clip(0, camera.width)
    end = np.ceil(np.maximum(long_edge, short_edge) - 0.5).clip(0, camera.width)
    width = (end - first).astype(np.int64)
    first = first.astype(np.int64)
    row_key = b * yc + c + a * 0.5  # the key at the centre of column 0 of this row
    row_start = row * camera.width
    for spans in _chunks(width):
        span, col = _expand(width[spans])
        span += spans.start
        col += np.take(first, span)
        depth_key = (np.take(row_key, span) + np.take(a, span) * col).clip(0, _DEPTH_LEVELS)
        key = (depth_key.astype(np.int64) << 32) | np.take(tri, span)
        np.minimum.at(zbuffer, np.take(row_start, span) + col, key)


def _shade(
    scene: _Scene, tris: _Triangles, pixel: np.ndarray, key: np.ndarray, camera: Camera
) -> tuple[np.ndarray, np.ndarray]:
    """(colour, depth) of the visible samples at flat `pixel` indices with z-buffer `key`s:
    perspective-correct interpolation and Lambert lighting."""
    tri = key & 0xFFFFFFFF
    px = pixel % camera.width + 0.5
    py = pixel // camera.width + 0.5
    weights = np.take(tris.weights, tri, axis=0)
    weight = weights[:, :, 0] * px[:, None] + weights[:, :, 1] * py[:, None] + weights[:, :, 2]
    inv_depth = weight.sum(axis=1)
    face = np.take(tris.face, tri)
    attributes = np.einsum(
        "nk,nkc->nc",
        (weight / inv_depth[:, None]).astype(np.float32),
        np.take(scene.attributes, face, axis=0),
    )
    color, normal = attributes[:, :3], attributes[:, 3:]
    # Light in world space, so the normals need no rotation (einsum: fast for these shapes).
    to_light = (camera.rotation.T @ LIGHT).astype(np.float32)
    length = np.sqrt(np.einsum("nc,nc->n", normal, normal)).clip(1e-12)
    cosine = np.einsum("nc,c->n", normal, to_light) / length
    cosine *= np.where(np.take(tris.flip, tri), -1.0, 1.0).astype(np.float32)
    light = AMBIENT + DIFFUSE * np.maximum(cosine, 0.0)
    color *= np.where(np.take(scene.lit, face), light, 1.0).astype(np.float32)[:, None]
    return color, 1.0 / inv_depth


class _Film:
    """Output pixels that gather the shaded samples: colour sum, coverage, nearest depth and
    nearest z-buffer key (hence triangle) over each pixel's factor x factor samples."""

    def __init__(self, camera: Camera, factor: int) -> None:
        self.width, self.height, self.factor = camera.width, camera.height, factor
        size = camera.width * camera.height
        self.color = np.zeros((size, 3), np.float32)
        self.count = np.zeros(size, np.float32)
        self.depth = np.full(size, np.inf)
        self.key = np.full(size, _EMPTY, dtype=np.int64)

    def add(
        self, sample: np.ndarray, key: np.ndarray, color: np.ndarray, depth: np.ndarray
    ) -> None:
        """Add samples at flat indices `sample` of the supersampled image."""
        big_width = self.width * self.factor
        row, col = sample // big_width // self.factor, sample % big_width // self.factor
        pixel = row * self.width + col
        # Count within the span of pixels touched, so that a chunk costs what it holds.
        first = pixel.min()
        local, span = pixel - first, slice(first, pixel.max() + 1)
        self.count[span] += np.bincount(local)
        for c in range(3):
            self.color[span, c] += np.bincount(local, color[:, c])
        np.minimum.at(self.depth, pixel, depth)
        np.minimum.at(self.key, pixel, key)

    def develop(self, backdrop: np.ndarray, mesh_of_triangle: np.ndarray) -> RenderResult:
        """Average the samples and composite them over `backdrop` (once: works in place)."""
        samples = self.factor**2
        image = self.color
        image /= samples
        image += (1.0 - self.count / samples)[:, None] * backdrop.reshape(-1, 3)
        np.clip(image, 0.0, 1.0, out=image)
        image *= 255.0
        hit = self.key != _EMPTY
        mesh_id = np.full(len(hit), -1, dtype=np.int32)
        mesh_id[hit] = np.take(mesh_of_triangle, self.key[hit] & 0xFFFFFFFF)
        shape = (self.height, self.width)
        return RenderResult(
            image=np.rint(image, out=image).astype(np.uint8).reshape(shape + (3,)),
            depth=self.depth.reshape(shape),
            mesh_id=mesh_id.reshape(shape),
        )

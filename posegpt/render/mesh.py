"""A triangle mesh ready to render: checked geometry, colours and a shading mode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from posegpt.errors import InvalidInputError
from posegpt.render.checks import as_array, as_rgb

#: The most triangles one mesh (or one rendered scene) may have.
MAX_FACES = 5_000_000
#: Shading modes: interpolated vertex normals, one normal per face, or no lighting.
SHADINGS = ("smooth", "flat", "unlit")
DEFAULT_COLOR = (0.72, 0.74, 0.78)


@dataclass(eq=False)
class Mesh:
    """Triangles to render. Colours are RGB floats in [0, 1]; `vertex_colors` (V, 3) wins over
    `face_colors` (F, 3), which wins over the single `color`.

    Faces wind counter-clockwise seen from outside. Unless `double_sided`, faces seen from
    behind are not drawn (closed meshes such as bodies lose nothing and render twice as fast).
    """

    vertices: np.ndarray
    faces: np.ndarray
    color: tuple[float, float, float] = DEFAULT_COLOR
    vertex_colors: np.ndarray | None = None
    face_colors: np.ndarray | None = None
    shading: str = "smooth"
    double_sided: bool = False

    def __post_init__(self) -> None:
        self.vertices = as_array(self.vertices, "mesh vertices", (None, 3))
        self.faces = as_array(self.faces, "mesh faces", (None, 3), np.int64)
        num_vertices, num_faces = len(self.vertices), len(self.faces)
        if num_vertices == 0 or num_faces == 0:
            raise InvalidInputError(f"mesh is empty ({num_vertices} vertices, {num_faces} faces)")
        if num_faces > MAX_FACES:
            raise InvalidInputError(f"mesh has {num_faces} faces; at most {MAX_FACES} are allowed")
        if self.faces.min() < 0 or self.faces.max() >= num_vertices:
            raise InvalidInputError(
                f"mesh faces index vertices {self.faces.min()}..{self.faces.max()}, "
                f"but the mesh has {num_vertices} vertices"
            )
        self.color = as_rgb(self.color, "mesh color")
        if self.vertex_colors is not None:
            self.vertex_colors = as_rgb(self.vertex_colors, "vertex_colors", (num_vertices, 3))
        if self.face_colors is not None:
            self.face_colors = as_rgb(self.face_colors, "face_colors", (num_faces, 3))
        if self.shading not in SHADINGS:
            raise InvalidInputError(
                f"unknown shading {self.shading!r}; choose from {', '.join(SHADINGS)}"
            )

    def corner_colors(self) -> np.ndarray:
        """(F, 3, 3) float32 colour at each corner of each face."""
        if self.vertex_colors is not None:
            return self.vertex_colors[self.faces]
        per_face = self.face_colors if self.face_colors is not None else self.color[None]
        return np.broadcast_to(per_face[:, None], (len(self.faces), 3, 3))

    def corner_normals(self) -> np.ndarray:
        """(F, 3, 3) normal at each corner of each face, not normalised (zero for degenerate
        faces): the face normal, or for smooth shading the vertex normal."""
        corners = np.take(self.vertices, self.faces, axis=0)
        face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        if self.shading != "smooth":
            return np.repeat(face_normals[:, None], 3, axis=1)
        vertex_normals = trimesh.geometry.mean_vertex_normals(
            len(self.vertices), self.faces, face_normals
        )
        return np.take(vertex_normals, self.faces, axis=0)

"""CPU rendering: a pure-numpy rasteriser, cameras and multi-view pictures of posed bodies."""

from __future__ import annotations

from posegpt.render.camera import Camera, frame_bodies, view_axes
from posegpt.render.mesh import Mesh
from posegpt.render.rasterizer import RenderResult, rasterize, render_meshes
from posegpt.render.views import render_pose_views, save_png

__all__ = [
    "Camera",
    "Mesh",
    "RenderResult",
    "frame_bodies",
    "rasterize",
    "render_meshes",
    "render_pose_views",
    "save_png",
    "view_axes",
]

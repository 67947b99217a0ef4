"""Time the CPU renderer on a body-sized mesh: one body, front and side panels.

Renders the AnnyBody T-pose (13,718 vertices / 27,420 faces), or with `--mesh icosphere` an
icosphere of similar size (10,242 vertices / 20,480 faces) where the body model is unavailable.

    python benchmarks/bench_render.py --size 256 --repeats 20
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import trimesh

from posegpt.render import Mesh, frame_bodies, render_meshes, render_pose_views


def body_mesh(source: str) -> tuple[str, np.ndarray, np.ndarray]:
    """(description, vertices, faces) of the mesh to render."""
    if source == "anny":
        import torch

        from posegpt.body import AnnyBody

        body = AnnyBody().eval()
        with torch.no_grad():
            vertices = body(torch.eye(3).expand(24, 3, 3)).vertices[0].numpy()
        return "AnnyBody T-pose", vertices, body.faces.numpy()
    sphere = trimesh.creation.icosphere(subdivisions=5)
    return "icosphere", np.asarray(sphere.vertices), np.asarray(sphere.faces)


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="panel side in pixels")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs (median reported)")
    parser.add_argument("--mesh", choices=("anny", "icosphere"), default="anny")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (body model only)")
    args = parser.parse_args()
    if args.mesh == "anny":
        import torch

        torch.set_num_threads(args.threads)
    name, vertices, faces = body_mesh(args.mesh)
    print(f"{name}: {len(vertices)} vertices, {len(faces)} faces, {args.size} px")
    for view in ("front", "side"):
        camera = frame_bodies([vertices], view, args.size)
        for antialias in (1, 2):

            def render(c=camera, a=antialias):
                return render_meshes([Mesh(vertices, faces)], c, antialias=a)

            ms = median_ms(render, args.repeats)
            print(f"render_meshes {view:5s} antialias={antialias}: {ms:6.1f} ms")
    for antialias in (1, 2):
        ms = median_ms(
            lambda a=antialias: render_pose_views(vertices, faces, args.size, antialias=a),
            args.repeats,
        )
        print(f"render_pose_views front+side antialias={antialias}: {ms:6.1f} ms")


if __name__ == "__main__":
    main()

"""`posegpt body ...`: look at poses."""

from __future__ import annotations

from pathlib import Path

import typer

from posegpt.errors import InvalidInputError

app = typer.Typer(help="Body models: render poses, export meshes.", no_args_is_help=True)


@app.command()
def render(
    pose_file: Path | None = typer.Argument(None, help="Pose file (.npz or .json) to render."),
    out: Path = typer.Option(..., "--out", "-o", help="PNG file to write."),
    mesh: Path | None = typer.Option(None, "--mesh", help="Also write the mesh (.glb/.obj/.ply)."),
    random: bool = typer.Option(False, "--random", help="Render a random plausible pose."),
    seed: int = typer.Option(0, "--seed", help="Seed for --random."),
    size: int = typer.Option(256, "--size", help="Panel size in pixels."),
    body_model: str | None = typer.Option(
        None, "--smpl-model-path", envvar="SMPL_MODEL_PATH", help="Your SMPL model file/folder."
    ),
) -> None:
    """Render a pose (front and side views) to PNG, optionally exporting its mesh."""
    from posegpt.body import load_body_model
    from posegpt.body.io import load_pose, save_mesh
    from posegpt.render.views import render_pose_views, save_png

    if (pose_file is None) == (not random):
        raise InvalidInputError("give either a POSE_FILE or --random")
    if random:
        from posegpt.synth.poses import PoseGenerator

        rotmat = PoseGenerator(seed=seed, random_yaw=False).sample().rotmat  # facing the camera
    else:
        rotmat = load_pose(pose_file)
    body = load_body_model(body_model)
    vertices = body(rotmat[None]).vertices[0].detach()
    save_png(out, render_pose_views(vertices, body.faces, size=size))
    typer.echo(f"wrote {out}")
    if mesh is not None:
        save_mesh(mesh, vertices, body.faces)
        typer.echo(f"wrote {mesh}")


@app.command("convert-smpl")
def convert_smpl(
    src: Path = typer.Argument(..., help="Official SMPL model file (.pkl)."),
    dst: Path = typer.Argument(..., help="Output .npz file."),
) -> None:
    """Convert an official SMPL .pkl (chumpy inside) once to a plain .npz, without chumpy."""
    from posegpt.body.smpl_file import convert_smpl_to_npz

    typer.echo(f"wrote {convert_smpl_to_npz(src, dst)}")

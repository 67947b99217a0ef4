"""Time SmplBody against the `smplx` package on a random SMPL-format file, and compare outputs.

    pip install smplx   # benchmark-only dependency (its code is under a non-commercial licence)
    python benchmarks/bench_smpl.py --batch 1 64 --threads 2

Both models run from the same fake .npz (`posegpt.body.fake_smpl`) with the same rotation
matrices and betas; the script prints the median forward and forward+backward times, the
ratio smplx / ours, and the largest vertex and joint differences between the two.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import roma
import torch
from timing import median_ms

from posegpt.body.fake_smpl import write_fake_smpl_npz
from posegpt.body.smpl_body import SmplBody


def bench_batch(ours: SmplBody, theirs: torch.nn.Module, batch: int, repeats: int) -> None:
    """Print one table row per pass (fwd, fwd+bwd) for random poses and shapes of `batch`."""
    torch.manual_seed(batch)
    rotmat = roma.rotvec_to_rotmat(0.5 * torch.randn(batch, 24, 3)).requires_grad_()
    betas = torch.randn(batch, ours.num_betas)
    runs = (
        lambda: ours(rotmat, betas),
        lambda: theirs(betas=betas, global_orient=rotmat[:, :1], body_pose=rotmat[:, 1:]),
    )
    a, b = (run() for run in runs)
    dverts = (a.vertices - b.vertices).abs().max().item()
    djoints = (a.joints - b.joints[:, :24]).abs().max().item()
    for label, backward in (("fwd", False), ("fwd+bwd", True)):
        t_ours, t_theirs = median_ms(runs, backward, repeats)
        print(
            f"{batch:>5} {label:>8} {t_ours:8.2f} {t_theirs:8.2f} {t_theirs / t_ours:6.2f} "
            f"{dverts:9.2e} {djoints:9.2e}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import smplx
    from smplx.utils import Struct

    with tempfile.TemporaryDirectory() as tmp:
        path = write_fake_smpl_npz(Path(tmp) / "SMPL_NEUTRAL.npz")
        ours = SmplBody(path)
        with np.load(path) as npz:  # smplx reads only .pkl itself: hand it the arrays
            theirs = smplx.SMPLLayer(model_path=str(path), data_struct=Struct(**dict(npz)))

    print(f"threads {args.threads}; median of {args.repeats} runs; times in ms")
    header = ("batch", "pass", "ours", "smplx", "ratio", "dverts", "djoints")
    print("{:>5} {:>8} {:>8} {:>8} {:>6} {:>9} {:>9}".format(*header))
    for batch in args.batch:
        bench_batch(ours, theirs, batch, args.repeats)


if __name__ == "__main__":
    main()

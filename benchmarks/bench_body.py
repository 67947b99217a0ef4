"""Time the default body model (AnnyBody) forward and forward+backward at several batch sizes.

python benchmarks/bench_body.py --batch 1 64 --threads 2
"""

from __future__ import annotations

import argparse

import roma
import torch
from timing import median_ms

from posegpt.body import load_body_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    body = load_body_model()
    print(f"body={body.name} threads={args.threads}")
    print("| batch | forward ms | forward+backward ms |")
    print("|---|---|---|")
    for batch in args.batch:
        rotmat = roma.rotvec_to_rotmat(0.5 * torch.randn(batch, 24, 3)).requires_grad_()
        (fwd,) = median_ms([lambda r=rotmat: body(r)], backward=False, repeats=args.repeats)
        (bwd,) = median_ms([lambda r=rotmat: body(r)], backward=True, repeats=args.repeats)
        print(f"| {batch} | {fwd:.1f} | {bwd:.1f} |")


if __name__ == "__main__":
    main()

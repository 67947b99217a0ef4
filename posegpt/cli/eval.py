"""`posegpt eval ...`: train and run the text<->pose retrieval evaluator."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from posegpt.chat_defaults import CHAT_SWITCHES
from posegpt.errors import InvalidInputError

app = typer.Typer(help="Evaluation: metrics and the retrieval evaluator.", no_args_is_help=True)

METRICS_FILE = "metrics.json"

DATA_HELP = "PoseScript-layout folder, or a posegpt dataset folder (uses its text2pose/)."
AMASS_HELP = "Where the PoseScript ids' AMASS paths point (default: DATA/amass)."
GALLERY_HELP = "Rank within galleries of about this many pairs (default: the whole split)."


def _format(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.1f}" for k, v in metrics.items() if "R@" in k or k == "mean")


@app.command("train-retrieval")
def train_retrieval_command(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the model into."),
    epochs: int = typer.Option(30, "--epochs", help="Passes over the training pairs."),
    batch_size: int = typer.Option(256, "--batch-size", help="Pairs per step (InfoNCE batch)."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate (one-cycle schedule)."),
    seed: int = typer.Option(0, "--seed"),
    gallery: int | None = typer.Option(None, "--gallery", help=GALLERY_HELP),
    amass_root: Path | None = typer.Option(None, "--amass-root", help=AMASS_HELP),
) -> None:
    """Train the retrieval evaluator on the train split (best epoch on val), then report its
    recall on the ground-truth test pairs: the ceiling for generated poses."""
    from posegpt.eval.retrieval import evaluate_retrieval, read_text_pose_pairs, train_retrieval
    from posegpt.files import atomic_write_text

    pairs = read_text_pose_pairs(data, amass_root=amass_root)
    if len(pairs.get("train", [])) < 2:
        raise InvalidInputError(f"{data} has fewer than 2 training text-pose pairs")
    typer.echo("pairs: " + ", ".join(f"{k} {len(v)}" for k, v in pairs.items()))
    model = train_retrieval(pairs["train"], pairs.get("val"), epochs, batch_size, lr, seed)
    model.save(out)
    report: dict = {"train_seconds": round(model.train_seconds, 1), "history": model.history}
    report["pairs"] = {k: len(v) for k, v in pairs.items()}
    test = pairs.get("test")
    if test is not None and len(test) > 1:
        report["test"] = evaluate_retrieval(model, test.first_texts(), test.poses, gallery)
        typer.echo(f"ground-truth test pairs: {_format(report['test'])}")
    atomic_write_text(out / METRICS_FILE, json.dumps(report, indent=2))
    typer.echo(f"trained in {model.train_seconds:.1f} s; wrote {out}")


@app.command("retrieval")
def retrieval_command(
    model_dir: Path = typer.Option(..., "--model", help="Folder written by train-retrieval."),
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    split: str = typer.Option("test", "--split", help="Split to evaluate."),
    gallery: int | None = typer.Option(None, "--gallery", help=GALLERY_HELP),
    amass_root: Path | None = typer.Option(None, "--amass-root", help=AMASS_HELP),
) -> None:
    """Recall@5/10/20 (T2P, P2T) of a trained retrieval evaluator on a split's pairs."""
    from posegpt.eval.retrieval import RetrievalModel, evaluate_retrieval, read_text_pose_pairs

    pairs = read_text_pose_pairs(data, splits=[split], amass_root=amass_root).get(split)
    if pairs is None or len(pairs) < 2:
        raise InvalidInputError(f"{data} has fewer than 2 text-pose pairs in split {split!r}")
    model = RetrievalModel.load(model_dir)
    metrics = evaluate_retrieval(model, pairs.first_texts(), pairs.poses, gallery)
    typer.echo(f"{split} ({len(pairs)} pairs): {_format(metrics)}")


def bench_command(
    data: Path | None = typer.Option(
        None,
        "--data",
        help="Dataset folder (posegpt data synth; default: a small synthetic set, built once "
        "and cached in ~/.cache/posegpt).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for results.json/.md and PNG."),
    model: list[str] = typer.Option(
        [],
        "--model",
        help="PoseGPT folder, or a packaged model ('default', 'small': the previous default); "
        "repeat to compare models.",
    ),
    tasks: str | None = typer.Option(
        None,
        "--tasks",
        help="Comma-separated subset of text2pose,spg,image2pose,rpe,retention,speed,everyday,"
        "parts,pose2text,pose_edit,followup,pose_diff "
        "(default: all).",
    ),
    retrieval: Path | None = typer.Option(
        None, "--retrieval", help="Trained retrieval evaluator (default: train one on DATA)."
    ),
    quick: bool = typer.Option(False, "--quick", help="Small subsets, short training."),
    max_items: int | None = typer.Option(None, "--max-items", help="Test items per benchmark."),
    max_train: int | None = typer.Option(
        None, "--max-train", help="Train-split items the baselines learn from (default: all)."
    ),
    seed: int = typer.Option(0, "--seed"),
    gallery: int | None = typer.Option(None, "--gallery", help=GALLERY_HELP),
    body: str | None = typer.Option(None, "--body", help="Body model: anny, smpl or a path."),
    real_posescript: Path | None = typer.Option(
        None, "--real-posescript", help="A PoseScript-layout folder: its test split."
    ),
    amass_root: Path | None = typer.Option(None, "--amass-root", help=AMASS_HELP),
    real_hmr: list[Path] = typer.Option(
        [], "--real-hmr", help="HMR npz test set (3DPW, H36M, ...); repeatable."
    ),
    real_images: Path | None = typer.Option(
        None, "--real-images", help="Image folder of --real-hmr (default: the npz's folder)."
    ),
    h36m_regressor: Path | None = typer.Option(
        None,
        "--h36m-regressor",
        help="Human3.6M joint regressor (17, 6890) .npy: H36M scored on its 14 joints "
        "(needs --body with your SMPL file).",
    ),
    refined_rows: str | None = typer.Option(
        None,
        "--refined-rows",
        help="Comma-separated refinements of photo answers to the BlazePose landmarks (orient, "
        "fit, auto, blend, auto-blend), each also a row of each model.",
    ),
    penalty_rows: str | None = typer.Option(
        None,
        "--penalty-rows",
        help="Comma-separated repetition penalties (e.g. 1.3), each also a words-only row of "
        "each model.",
    ),
    decline_rows: bool = typer.Option(
        False,
        "--decline-rows",
        help="Also a photo-only row of each model that answers in words with no pose when its "
        "answer matches nobody in the picture (chat --decline-unmatched).",
    ),
    sides_rows: bool = typer.Option(
        False,
        "--sides-rows",
        help="Also a words-only row of each model that keeps the side a request names "
        "(no 'left' in the reply when only 'right' was asked, and back).",
    ),
    steps_rows: bool = typer.Option(
        False,
        "--steps-rows",
        help="Also a words-only row of each model that asks each step of a several-pose "
        "request alone ('Squat, then jump': the squat from 'Squat', the jump from 'Jump').",
    ),
    chat_variants: str | None = typer.Option(
        None,
        "--chat-variants",
        help=f"Comma-separated switches of `posegpt chat` ({', '.join(CHAT_SWITCHES)}): for "
        "each, also a row of each model answering as chat does with that switch the other way.",
    ),
    chat_rows: bool = typer.Option(
        False,
        "--chat-rows",
        help="Also a row of each model answering as `posegpt chat` does by default: photo "
        "answers refined (auto-blend with a pose prior, else orient), the named side kept, each "
        "step asked alone, as many poses as the words ask for, terse requests and photo "
        "questions answered in words asked again.",
    ),
    everyday_items: str = typer.Option(
        "test",
        "--everyday-items",
        help="The everyday benchmark's items: 'test' (the held-out set), 'dev' or 'dev2' "
        "(development sets, the ones to tune on; dev2 is the fresh one), 'dev3' (30 several-pose "
        "requests), 'dev4' (125 requests of every category, the freshest), 'kneeling' (a "
        "12-request development probe of seiza, child's pose and rowing) or a JSONL file in the "
        "same format.",
    ),
    photo_items: str = typer.Option(
        "test",
        "--photo-items",
        help="The everyday photo requests the crops are asked in (image2pose_everyday): 'test' "
        "(held out) or 'dev' (the development set, to tune on).",
    ),
    split: str = typer.Option(
        "test",
        "--split",
        help="The dataset split the items come from: 'test' (held out) or 'val' (the "
        "development split, the one to decide on; SPG asks about its val situations, and "
        "spg_seen, which has no val wordings, is left out).",
    ),
    baselines: bool = typer.Option(
        True,
        "--baselines/--no-baselines",
        help="Fit and run the text and photo baselines (off: models only, e.g. to compare two "
        "models when an earlier run on the same data holds the baselines' figures; the "
        "pose-input tasks keep their own baselines).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Benchmark posegpt and the baselines side by side on the held-out splits."""
    import shlex
    import sys

    from posegpt.body import load_body_model
    from posegpt.eval.bench import BenchConfig, run_bench
    from posegpt.eval.everyday.items import everyday_file, photo_file
    from posegpt.eval.report import write_report

    if data is None:
        from posegpt.eval.cached_data import cached_bench_data

        data = cached_bench_data(seed, progress=not quiet)
    cfg = BenchConfig(
        data=data,
        out=out,
        models=list(model),
        **({"tasks": [t.strip() for t in tasks.split(",")]} if tasks is not None else {}),
        retrieval=retrieval,
        quick=quick,
        seed=seed,
        max_items=max_items,
        max_train=max_train,
        gallery=gallery,
        body=body,
        real_posescript=real_posescript,
        amass_root=amass_root,
        real_hmr=list(real_hmr),
        real_images=real_images,
        h36m_regressor=h36m_regressor,
        refined_rows=[m.strip() for m in refined_rows.split(",")] if refined_rows else [],
        penalty_rows=[float(p) for p in penalty_rows.split(",")] if penalty_rows else [],
        decline_rows=decline_rows,
        sides_rows=sides_rows,
        steps_rows=steps_rows,
        chat_variants=[v.strip() for v in chat_variants.split(",")] if chat_variants else [],
        chat_rows=chat_rows,
        everyday_items=everyday_file(everyday_items),
        photo_items=photo_file(photo_items),
        split=split,
        baselines=baselines,
        progress=not quiet,
        command=shlex.join(["posegpt", *sys.argv[1:]]),
    )
    results = run_bench(cfg)
    paths = write_report(results, out, load_body_model(body))
    typer.echo(paths["markdown"].read_text(encoding="utf-8").split("\n## 1.")[0])
    typer.echo("wrote " + ", ".join(str(p) for p in paths.values()))

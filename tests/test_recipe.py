"""The paper's recipe end to end on a tiny random llava-hf checkpoint written here: published
files -> `posegpt data prepare` -> `posegpt train --config configs/llava-1.5-lora.yaml
--llava-path DIR` (LoRA, frozen vision; DeepSpeed ZeRO-2 in one process when deepspeed is
importable, else accelerate) -> `--resume` -> `posegpt chat --model` -> `posegpt bench`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import CLIPImageProcessor
from typer.testing import CliRunner

from posegpt.cli import app
from posegpt.model import load_pretrained
from posegpt.model.image import pad_to_square
from posegpt.train.checkpoint import list_checkpoints

ROOT = Path(__file__).resolve().parents[1]
SIDE = 336  # LLaVA-1.5's CLIP input
PATCH = 42  # 8 x 8 = 64 image tokens keeps the tiny run fast
CAPTIONS = [
    "The person stands with both arms raised.",
    "The person squats with the knees bent.",
    "The left arm points forward, the right hangs down.",
    "The body leans to the right with the legs apart.",
]


def _image(path: Path, seed: int, size: tuple[int, int] = (96, 72)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def _downloads(root: Path, published) -> Path:
    """Tiny files in the published layouts of PoseScript + AMASS, COCO-EFT, RPE and
    LLaVA-Instruct, with their images."""
    rng = np.random.default_rng(0)
    (root / "amass/CMU/01").mkdir(parents=True)
    poses = (rng.normal(size=(12, 156)) * 0.3).astype(np.float32)
    np.savez(root / "amass/CMU/01/01_01_poses.npz", poses=poses)
    ps = root / "posescript"
    index = {str(i): ["AMASS", "CMU/01/01_01_poses.npz", i] for i in range(12)}
    published.json(ps / "ids_2_dataset_sequence_and_frame_index_100k.json", index)
    published.json(ps / "posescript_human_6293.json", {str(i): CAPTIONS[i % 4] for i in range(12)})
    for split, ids in (("train", range(8)), ("val", [8, 9]), ("test", [10, 11])):
        published.json(ps / f"{split}_ids_100k.json", list(ids))
    fits = []
    for i in range(6):
        name = f"COCO_train2014_{i:012d}.jpg"
        _image(root / "coco/train2014" / name, i)
        fits.append(published.eft_entry(rng, name))
    eft = {"meta": {"dbname": "COCO2014-All"}, "data": fits}
    published.json(root / "eft/COCO2014-All-ver01.json", eft)
    for i, (kind, request) in enumerate([("behavior", "Who is waving?"), ("shape", "Taller.")]):
        image = f"3DPW/imageFiles/courtyard_00/image_{i:05d}.jpg"
        _image(root / "rpe" / image, 10 + i, (128, 96))
        pose = rng.normal(size=72) * 0.3
        entry = published.rpe_entry(rng, image, [20, 10, 40, 60], request, pose)
        published.json(root / f"rpe/refine_vqa_{kind}_withGT.json", [entry])
    items = published.llava_items()
    _image(root / "coco/train2014" / items[0]["image"], 20)
    published.json(root / "llava/llava_instruct_150k.json", items)
    return root


def _deepspeed_env() -> dict[str, str] | None:
    """The environment `accelerate launch --use_deepspeed --num_processes 1` gives a DeepSpeed
    ZeRO-2 run, or None if deepspeed is not importable."""
    try:
        import deepspeed  # noqa: F401
    except ImportError:
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return {
        **os.environ,
        "ACCELERATE_USE_DEEPSPEED": "true",
        "ACCELERATE_DEEPSPEED_CONFIG_FILE": str(ROOT / "configs/deepspeed_zero2.json"),
        "ACCELERATE_MIXED_PRECISION": "bf16",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def _train(runner: CliRunner, env: dict[str, str] | None, *args: object) -> str:
    """`posegpt train ARGS`: in a process of its own under DeepSpeed (as a launcher starts
    it), else in this one."""
    if env is None:
        return _run(runner, "train", *args)
    command = [sys.executable, "-m", "posegpt.train", *map(str, args)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result.output


@pytest.mark.slow
def test_paper_recipe_on_a_tiny_llava_checkpoint(tmp_path, published, write_llava_checkpoint):
    runner = CliRunner()
    src = _downloads(tmp_path / "downloads", published)
    data = tmp_path / "data"
    _run(
        runner,
        "data",
        "prepare",
        "posescript",
        "--src",
        src / "posescript",
        "--amass-root",
        src / "amass",
        "--out",
        data,
        "-q",
    )
    _run(
        runner,
        "data",
        "prepare",
        "coco-eft",
        "--src",
        src / "eft",
        "--images",
        src / "coco",
        "--out",
        data,
        "-q",
    )
    _run(runner, "data", "prepare", "rpe", "--src", src / "rpe", "--out", data, "-q")
    _run(
        runner,
        "data",
        "prepare",
        "llava-instruct",
        "--src",
        src / "llava",
        "--images",
        src / "coco/train2014",
        "--out",
        data,
        "-q",
    )
    # the COCO-EFT people double as the image->pose test set of this tiny run
    (data / "image2pose/coco-eft/test.npz").symlink_to(data / "image2pose/coco-eft/train.npz")
    ckpt = tmp_path / "llava-1.5-tiny-hf"
    corpus = CAPTIONS + ["Sure, the SMPL pose is", "Give the SMPL pose.", "What colour? Hello!"]
    write_llava_checkpoint(
        ckpt, corpus * 4, SIDE, image_size=SIDE, patch_size=PATCH, max_length=1024
    )

    env = _deepspeed_env()
    run = tmp_path / "run"
    common = [
        "--config",
        ROOT / "configs/llava-1.5-lora.yaml",
        "--llava-path",
        ckpt,
        "--data",
        data,
    ]
    common += ["--out", run, "--batch-size", "2", "--grad-accum", "1", "--no-tcmalloc", "-q"]
    for key in (
        "num_workers=0",
        "eval_every=0",
        "checkpoint_every=1",
        "eval_items=4",
        "warmup_steps=0",
        "lora_r=8",
        "lora_alpha=16",
    ):
        common += ["--set", key if not key.startswith("lora") else f"model.{key}"]
    common += ["--steps", "3"]
    _train(runner, env, *common)
    # as if killed after step 2's checkpoint: resume redoes step 3 only
    shutil.rmtree(run / "final")
    shutil.rmtree(list_checkpoints(run)[-1])
    output = _train(runner, env, *common, "--resume")
    assert "trained 3 steps" in output
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert max(steps) == 3

    model = load_pretrained(run / "final")
    assert model.config.mode == "lora" and model.config.image_size == SIDE
    assert model.image_processor is not None  # the checkpoint's CLIP processor travels along
    photo = src / "coco/train2014/COCO_train2014_000000000001.jpg"
    square = pad_to_square(Image.open(photo).convert("RGB"), model.config.image_mean)
    own = CLIPImageProcessor.from_pretrained(ckpt)(images=square, return_tensors="pt")[
        "pixel_values"
    ][0]
    torch.testing.assert_close(model.preprocess(photo), own)

    answer = tmp_path / "answer"
    _run(
        runner,
        "chat",
        "--model",
        run / "final",
        "--image",
        photo,
        "-p",
        "Give the SMPL pose of this person.",
        "-o",
        answer,
        "--max-new-tokens",
        "8",
    )
    reply = json.loads((answer / "answer.json").read_text())
    assert isinstance(reply, dict)

    bench = tmp_path / "bench"
    _run(
        runner,
        "bench",
        "--data",
        data,
        "--out",
        bench,
        "--model",
        run / "final",
        "--quick",
        "--max-items",
        "2",
        "--tasks",
        "text2pose,image2pose,rpe",
        "-q",
    )
    results = json.loads((bench / "results.json").read_text())
    tables = results["benchmarks"]
    assert results["methods"][0] == "posegpt"  # the trained model, beside the baselines
    # literature protocols: PoseScript retrieval (2 test pairs: no 32-pool), per-source joints
    assert {"text2pose_retrieval_split", "image2pose/coco-eft", "rpe/rpe"} <= set(tables)
    assert "pool32" not in " ".join(tables)
    assert "SMPL 22 joints" in tables["rpe/rpe"]["title"]
    assert set(tables["text2pose_retrieval_split"]["rows"]["posegpt"]) >= {"t2p_R@1", "mRecall"}
    assert tables["rpe/rpe"]["rows"]["posegpt"]["mpjpe_behavior"] is not None
    print("trained with", "DeepSpeed ZeRO-2" if env else "accelerate")

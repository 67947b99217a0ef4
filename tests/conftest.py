"""Suite-wide settings and fixtures: one torch thread (tiny models on a busy 2-core machine run
many times faster on one thread than on two contended ones), the real-data samples, and writers
of the real datasets' published formats and of a tiny llava-hf checkpoint."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import CLIPImageProcessor, LlavaForConditionalGeneration, PreTrainedTokenizerFast

from posegpt.body.rotations import axis_angle_to_rotmat
from posegpt.model import get_config
from posegpt.model.build import llava_config

#: Where the real pose samples are (not distributed): this variable, else ../shared/data/real
#: next to the repository.
REAL_DATA_ENV = "POSEGPT_REAL_DATA"


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def real_data() -> Callable[[str], Path]:
    """`real_data("amass_sample/amass_sample.npz")`: that path under the real-data root; the
    test skips when it is absent."""
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
    root = Path(os.environ.get(REAL_DATA_ENV) or default)

    def need(relative: str = "") -> Path:
        path = root / relative
        if not path.exists():
            pytest.skip(f"real data not found at {path} (set {REAL_DATA_ENV})")
        return path

    return need


# -- files in the published layouts of real datasets, and a tiny llava-hf checkpoint ----------


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def _eft_entry(rng: np.random.Generator, name: str) -> dict:
    """One EFT fit as COCO2014-All-ver01.json / MPII_ver01.json hold them."""
    return {
        "imageName": name,
        "bbox_center": [200.5, 150.25],
        "bbox_scale": 1.25,
        "parm_pose": axis_angle_to_rotmat(rng.normal(size=(1, 72)) * 0.3)[0].tolist(),
        "parm_shape": rng.normal(size=10).tolist(),
        "parm_cam": [0.9, 0.0, 0.1],
        "gt_keypoint_2d": rng.uniform(0, 300, size=(49, 3)).tolist(),
        "annotId": 1234,
    }


def _rpe_entry(
    rng: np.random.Generator, image: str, box: list, request: str, pose: np.ndarray
) -> dict:
    """One entry of RPE-Refined's refine_vqa_<kind>_withGT.json."""
    return {
        "id": "000000",
        "image": "000000.png",
        "real_image": image,
        "conversations": [
            {"from": "human", "value": f"<image>\n{request}"},
            {"from": "gpt", "value": "Sure, it is <POSE>."},
        ],
        "ground_truth": {
            "joint_cam": rng.normal(size=(24, 3)).tolist(),
            "fitted_joint_cam": rng.normal(size=(24, 3)).tolist(),
            "joint_img": rng.normal(size=(24, 2)).tolist(),
            "smpl_param": {"shape": [0.1] * 10, "pose": pose.tolist(), "trans": [0, 0, 3]},
            "bbox": box,
        },
    }


#: Two LLaVA-Instruct items: one about a COCO picture, one text only.
LLAVA_ITEMS = [
    {
        "id": "000000033471",
        "image": "000000033471.jpg",
        "conversations": [
            {"from": "human", "value": "<image>\nWhat are the colors of the bus?"},
            {"from": "gpt", "value": "White and red."},
        ],
    },
    {
        "id": "t1",
        "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}],
    },
]


@pytest.fixture(scope="session")
def published() -> SimpleNamespace:
    """Writers of the real datasets' published formats: json(path, data), eft_entry(rng, name),
    rpe_entry(rng, image, box, request, pose), llava_items() (fresh copies)."""
    return SimpleNamespace(
        json=_write_json,
        eft_entry=_eft_entry,
        rpe_entry=_rpe_entry,
        llava_items=lambda: copy.deepcopy(LLAVA_ITEMS),
    )


def _write_llava_checkpoint(
    path: Path, corpus: list[str], image_processor: int | None = None, **preset: object
) -> None:
    """A tiny random llava-hf folder: a backbone (the `tiny` preset with `preset` overrides), a
    tokenizer without PoseGPT's tokens and, given a side, CLIP's image processor at that size."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    specials = ["<pad>", "<s>", "</s>", "<image>"]
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=specials))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens=["<image>"],
    )
    config = llava_config(get_config("tiny", **preset), tokenizer)
    LlavaForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    if image_processor is not None:
        side = image_processor
        size = {"shortest_edge": side}
        CLIPImageProcessor(size=size, crop_size={"height": side, "width": side}).save_pretrained(
            path
        )


@pytest.fixture(scope="session")
def write_llava_checkpoint():
    """write_llava_checkpoint(path, corpus, image_processor=SIDE, **preset overrides)."""
    return _write_llava_checkpoint

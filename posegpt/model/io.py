"""Saving and loading a PoseGPT folder (safetensors only: loading never unpickles), and the
model the chat front ends load (`load_chat_model`: a folder, else the packaged default).

Layout: `model.safetensors` (backbone, with LoRA adapters if any, and pose head; a tensor shared
by several names, as tied embeddings, is stored once and its other names listed in the file's
metadata), `config.json` (PoseGPT config, backbone config, whether adapters are present),
`tokenizer/`, for a model built on a pretrained checkpoint that checkpoint's `image_processor/`,
for a model built on or reading Gemma `GEMMA_NOTICE.md` (the Gemma Terms of Use apply), and
when present the person chooser (`chooser.safetensors`), the pose prior
(`pose_prior.safetensors`) and the known situations (`situations.json`), each stored apart from
the weights.
A folder is written beside its destination and renamed into place, so it is complete or absent.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from accelerate import init_empty_weights
from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from transformers import LlavaConfig, LlavaForConditionalGeneration

from posegpt.body.prior import PRIOR_FILE, GaussianPosePrior
from posegpt.errors import ModelFileError, PoseGPTError
from posegpt.files import replace_dir
from posegpt.model.build import check_compatible, load_image_processor, prepare_backbone
from posegpt.model.config import PoseGPTConfig
from posegpt.model.gemma import write_notice
from posegpt.model.network import PoseGPT, is_lora
from posegpt.model.pose_tower.chooser import CHOOSER_FILE, PersonChooser
from posegpt.model.situations import SITUATIONS_FILE, KnownSituations
from posegpt.model.tokenizer import load_tokenizer

FORMAT = "posegpt"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
TOKENIZER = "tokenizer"
#: Safetensors metadata key: names stored as another name's tensor (tied weights).
ALIASES = "posegpt_aliases"
IMAGE_PROCESSOR = "image_processor"
#: The trained models that ship inside the package (`save_pretrained` folders), by name:
#: "default" is what users get; "small" is the previous default (text and pixel tower only),
#: kept as a baseline row.
PACKAGED_MODELS = {name: Path(__file__).resolve().parent / name for name in ("default", "small")}
DEFAULT_MODEL_DIR = PACKAGED_MODELS["default"]


def save_pretrained(model: PoseGPT, path: str | os.PathLike) -> Path:
    """Write `model` to the folder `path` atomically; an existing PoseGPT folder is replaced."""
    path = Path(path)
    if path.exists() and not _replaceable(path):
        raise PoseGPTError(f"{path} exists and is not a PoseGPT model folder; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        weights = {k: v for k, v in model.state_dict().items() if not k.startswith("chooser.")}
        state, aliases = _unique_tensors(weights)
        save_file(state, tmp / WEIGHTS, metadata={"format": "pt", ALIASES: json.dumps(aliases)})
        if model.chooser is not None:
            model.chooser.save(tmp)
        if model.pose_prior is not None:
            model.pose_prior.save(tmp / PRIOR_FILE)
        if model.situations is not None:
            model.situations.save(tmp / SITUATIONS_FILE)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "config": model.config.to_dict(),
            "backbone": model.backbone.config.to_dict(),
            "lora": is_lora(model.llava),
        }
        (tmp / CONFIG).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        model.tokenizer.save_pretrained(tmp / TOKENIZER)
        if model.image_processor is not None:
            model.image_processor.save_pretrained(tmp / IMAGE_PROCESSOR)
        if "gemma-3-270m" in (model.config.language_model, model.config.text_encoder):
            write_notice(tmp)
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_pretrained(path: str | os.PathLike) -> PoseGPT:
    """Load a folder written by `save_pretrained` (in eval mode, on the CPU)."""
    path = Path(path)
    meta = _read_meta(path / CONFIG)
    cfg = PoseGPTConfig.from_dict(meta["config"])
    tokenizer = load_tokenizer(path / TOKENIZER)
    try:
        backbone_config = LlavaConfig.from_dict(meta["backbone"])
        check_compatible(backbone_config, tokenizer)
        # Parameters are created without memory and replaced by the stored tensors.
        with init_empty_weights():
            llava = LlavaForConditionalGeneration(backbone_config)
            backbone = prepare_backbone(llava, cfg, tokenizer, meta["lora"])
            model = PoseGPT(backbone, tokenizer, cfg, load_image_processor(path / IMAGE_PROCESSOR))
    except (TypeError, ValueError, KeyError, StrictDataclassError) as err:
        raise ModelFileError(f"invalid backbone config in {path / CONFIG}: {err}") from err
    try:
        state = load_file(path / WEIGHTS)
        with safe_open(path / WEIGHTS, "pt") as weights:
            aliases = json.loads((weights.metadata() or {}).get(ALIASES, "{}"))
        state.update({name: state[target] for name, target in aliases.items()})
    except (OSError, SafetensorError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ModelFileError(f"cannot read {path / WEIGHTS}: {err}") from err
    broken = [name for name, tensor in state.items() if not torch.isfinite(tensor).all()]
    if broken:
        raise ModelFileError(
            f"{path / WEIGHTS} holds NaN or infinite weights in {len(broken)} tensor(s), e.g. "
            f"{broken[0]}: the run that wrote it diverged or the file is damaged"
        )
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as err:
        raise ModelFileError(f"{path / WEIGHTS} does not fit the model: {err}") from err
    if (path / CHOOSER_FILE).is_file():
        model.chooser = PersonChooser.load(path / CHOOSER_FILE)
    if (path / PRIOR_FILE).is_file():
        model.pose_prior = GaussianPosePrior.load(path / PRIOR_FILE)
    if (path / SITUATIONS_FILE).is_file():
        model.situations = KnownSituations.load(path / SITUATIONS_FILE)
    return model.eval()


def _unique_tensors(
    state: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """`state` with each shared tensor under its first name only, and {other name: first name}."""
    unique: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first: dict[tuple, str] = {}
    for name, tensor in state.items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tensor.shape)
        if key in first and tensor.numel():
            aliases[name] = first[key]
        else:
            first[key] = name
            unique[name] = tensor.detach().contiguous()
    return unique, aliases


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"cannot read {path}: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a PoseGPT config")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{path}: unsupported PoseGPT format version {meta.get('version')}")
    if not {"config", "backbone", "lora"} <= meta.keys() or not isinstance(meta["lora"], bool):
        raise ModelFileError(f"{path} lacks part of the PoseGPT config")
    return meta


def _replaceable(path: Path) -> bool:
    """True for an empty folder or one that holds a PoseGPT model."""
    if not path.is_dir():
        return False
    if not any(path.iterdir()):
        return True
    try:
        _read_meta(path / CONFIG)
    except ModelFileError:
        return False
    return True


def load_chat_model(path: str | os.PathLike | None = None) -> PoseGPT:
    """Load the PoseGPT folder `path`, or a packaged model by name (`PACKAGED_MODELS`: None
    means "default"). A folder of that name in the working directory wins over the package's."""
    return load_pretrained(_model_folder(path))


def read_model_config(path: str | os.PathLike | None = None) -> PoseGPTConfig:
    """The settings of the model `load_chat_model(path)` would load, without its weights."""
    return PoseGPTConfig.from_dict(_read_meta(_model_folder(path) / CONFIG)["config"])


def _model_folder(path: str | os.PathLike | None) -> Path:
    """The folder of `path`, or of a packaged model by name (see `load_chat_model`)."""
    name = "default" if path is None else str(path)
    if name in PACKAGED_MODELS and (path is None or not Path(name).is_dir()):
        packaged = PACKAGED_MODELS[name]
        if not (packaged / CONFIG).is_file():
            raise ModelFileError(
                f"the packaged model {name!r} is not installed in {packaged}; "
                "pass --model PATH (a folder written by posegpt training / save_pretrained) "
                "or set POSEGPT_MODEL"
            )
        return packaged
    return Path(path)

"""Text<->pose retrieval evaluator (PoseScript / PoseGPT style).

A pose encoder (MLP over the 24 joints' 6D rotations, the body turned to face +z first, since
texts rarely say which way a body faces) and a text encoder (frozen all-MiniLM-L6-v2 + a
trainable MLP head) map into one shared, L2-normalised space. Training uses the symmetric
InfoNCE loss with a learnable temperature on text-pose pairs, one of a pose's texts drawn at
random per epoch. Trained on real (ground-truth) poses, the model then scores generated ones.

Protocol (`evaluate_retrieval`): one text per pose; the N pairs are shuffled (seeded) and cut
into N // G galleries of near-equal size (each >= G; one gallery of all N if G is None or
>= N). In each gallery every text ranks all the gallery's poses (T2P) and every pose ranks all
its texts (P2T); R@K is the percentage of queries whose own partner is in the top K (ties count
against it), averaged over all queries. "mean" is the mean of the six recalls (PoseScript's
mRecall over K = 5, 10, 20).

Literature protocols (`literature_recalls`): R@1/5/10 both ways and mRecall over the whole test
split (PoseScript), and over 32-candidate pools (each query: its partner + 31 random others).
The two give very different numbers; papers mix them, so the benchmark reports both, labelled.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from posegpt.body.rotations import check_rotmat, rotmat_to_6d
from posegpt.body.skeleton import NUM_JOINTS
from posegpt.data.dataset import TEXT2POSE_DIR, face_forward
from posegpt.data.formats import IDS_FILE, POSESCRIPT_SPLITS, PoseScriptData, read_posescript
from posegpt.errors import InvalidInputError, ModelFileError
from posegpt.eval.fitting import Step, fit_best_epoch
from posegpt.eval.metrics import DEFAULT_K, recall_at_k
from posegpt.files import atomic_path, atomic_write_text
from posegpt.model.text_embedder import EMBED_DIM, MODEL_NAME, SentenceEmbedder

FORMAT, VERSION = "posegpt-retrieval", 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: Largest layer width accepted from a config file.
MAX_WIDTH = 8192
#: Poses / texts encoded per forward pass when evaluating.
EVAL_CHUNK = 4096
#: Upper bound of the learned logit scale (CLIP's).
MAX_LOGIT_SCALE = 100.0


@dataclass
class RetrievalConfig:
    """Sizes of the retrieval model. The text side's width is fixed by `text_model`."""

    embed_dim: int = 256
    hidden_dim: int = 512
    pose_layers: int = 2
    dropout: float = 0.1
    temperature: float = 0.07  # initial value; learned
    text_model: str = MODEL_NAME
    text_dim: int = EMBED_DIM

    def __post_init__(self) -> None:
        for name in ("embed_dim", "hidden_dim", "pose_layers", "text_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 1 <= value <= MAX_WIDTH:
                raise InvalidInputError(f"{name} must be an integer in [1, {MAX_WIDTH}]")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 < self.temperature <= 1.0:
            raise InvalidInputError("dropout must be in [0, 1) and temperature in (0, 1]")


@dataclass
class TextPosePairs:
    """Poses (N, 24, 3, 3) with their texts: `texts[i]` lists pose i's texts (>= 1); the first
    is the one evaluation uses."""

    poses: torch.Tensor
    texts: list[list[str]]

    def __post_init__(self) -> None:
        self.poses = check_rotmat(self.poses)
        if self.poses.ndim != 4 or len(self.poses) != len(self.texts):
            raise InvalidInputError(
                f"need one text list per pose: {tuple(self.poses.shape)} poses, "
                f"{len(self.texts)} text lists"
            )
        if any(not ts or not all(isinstance(t, str) for t in ts) for ts in self.texts):
            raise InvalidInputError("every pose needs at least one text")

    def __len__(self) -> int:
        return len(self.texts)

    def first_texts(self) -> list[str]:
        return [ts[0] for ts in self.texts]

    @classmethod
    def from_posescript(cls, data: PoseScriptData, split: str) -> TextPosePairs:
        """The pairs of one split of a PoseScript-layout dataset."""
        ids = data.splits.get(split, [])
        poses = torch.stack([data.pose(i) for i in ids]) if ids else data.poses[:0]
        return cls(poses, [data.texts(i) for i in ids])


def read_text_pose_pairs(
    root: str | os.PathLike,
    splits: Sequence[str] = POSESCRIPT_SPLITS,
    amass_root: str | os.PathLike | None = None,
) -> dict[str, TextPosePairs]:
    """The text-pose pairs of each split found under `root`: a PoseScript-layout folder, or a
    posegpt dataset folder holding one in `text2pose/`."""
    root = Path(root)
    if not (root / IDS_FILE).exists() and (root / TEXT2POSE_DIR / IDS_FILE).exists():
        root = root / TEXT2POSE_DIR
    if not (root / IDS_FILE).exists():
        raise ModelFileError(f"{root} holds no PoseScript-layout data (no {IDS_FILE})")
    data = read_posescript(root, amass_root=amass_root, splits=splits)
    return {name: TextPosePairs.from_posescript(data, name) for name in data.splits}


def _mlp(dims: Sequence[int], dropout: float) -> nn.Sequential:
    """Linear layers through `dims`, LayerNorm + GELU + dropout between them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers += [nn.LayerNorm(b), nn.GELU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


def pose_features(rotmat: torch.Tensor) -> torch.Tensor:
    """(N, 24, 3, 3) -> (N, 144): the 6D rotations of the pose turned to face +z."""
    return rotmat_to_6d(face_forward(rotmat.float())).reshape(len(rotmat), NUM_JOINTS * 6)


class RetrievalModel(nn.Module):
    """Pose and text encoders into one space. `embedder` supplies the frozen sentence
    embeddings (default: MiniLM, loaded on first use); it is not part of the saved weights."""

    def __init__(
        self, config: RetrievalConfig | None = None, embedder: SentenceEmbedder | None = None
    ) -> None:
        super().__init__()
        self.config = config = config or RetrievalConfig()
        self.embedder = embedder or SentenceEmbedder()
        if (self.embedder.name, self.embedder.dim) != (config.text_model, config.text_dim):
            raise InvalidInputError(
                f"config wants text model {config.text_model} ({config.text_dim}-d), "
                f"got {self.embedder.name} ({self.embedder.dim}-d)"
            )
        hidden = [config.hidden_dim] * config.pose_layers
        self.pose_encoder = _mlp([NUM_JOINTS * 6, *hidden, config.embed_dim], config.dropout)
        self.text_head = _mlp(
            [config.text_dim, config.hidden_dim, config.embed_dim], config.dropout
        )
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.temperature)))
        #: Per-epoch records and wall time of `train_retrieval` (empty / 0 when loaded).
        self.history: list[dict[str, float]] = []
        self.train_seconds = 0.0

    def project_text(self, sentence_embeddings: torch.Tensor) -> torch.Tensor:
        """(N, text_dim) frozen sentence embeddings -> (N, embed_dim) unit vectors."""
        return F.normalize(self.text_head(sentence_embeddings), dim=-1)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """(N, embed_dim) unit vectors for `texts`."""
        return self.project_text(self.embedder.embed(texts))

    def encode_pose(self, rotmat: torch.Tensor) -> torch.Tensor:
        """(N, embed_dim) unit vectors for poses (N, 24, 3, 3) (any facing direction)."""
        rotmat = check_rotmat(rotmat)
        if rotmat.ndim != 4:
            raise InvalidInputError(f"poses must be (N, 24, 3, 3), got {tuple(rotmat.shape)}")
        return self.project_pose(pose_features(rotmat))

    def project_pose(self, features: torch.Tensor) -> torch.Tensor:
        """(N, 144) `pose_features` -> (N, embed_dim) unit vectors."""
        return F.normalize(self.pose_encoder(features), dim=-1)

    def scale(self) -> torch.Tensor:
        """The learned inverse temperature, clamped."""
        return self.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write `config.json` and `model.safetensors` into `directory` (atomically each)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        with atomic_path(directory / WEIGHTS_FILE) as tmp:
            save_file(tensors, str(tmp), metadata={"format": FORMAT})
        meta = {"format": FORMAT, "version": VERSION, "config": asdict(self.config)}
        atomic_write_text(directory / CONFIG_FILE, json.dumps(meta, indent=2))
        return directory

    @classmethod
    def load(
        cls, directory: str | os.PathLike, embedder: SentenceEmbedder | None = None
    ) -> RetrievalModel:
        """Load a model written by `save` (safetensors only; nothing is unpickled)."""
        directory = Path(directory)
        config = _read_config(directory / CONFIG_FILE)
        model = cls(config, embedder)
        path = directory / WEIGHTS_FILE
        try:
            state = load_file(str(path))
            model.load_state_dict(state, strict=True)
        except (OSError, SafetensorError, RuntimeError) as err:
            raise ModelFileError(f"cannot load retrieval weights {path}: {err}") from err
        return model.eval()


def _read_config(path: Path) -> RetrievalConfig:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ModelFileError(f"cannot read retrieval config {path}: {err}") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a {FORMAT} config")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{path}: unsupported version {meta.get('version')}")
    values = meta.get("config")
    known = {f.name for f in fields(RetrievalConfig)}
    if not isinstance(values, dict) or set(values) - known:
        raise ModelFileError(f"{path}: 'config' must be an object with keys from {sorted(known)}")
    try:
        return RetrievalConfig(**values)
    except InvalidInputError as err:
        raise ModelFileError(f"{path}: {err}") from err


def _symmetric_info_nce(logits: torch.Tensor) -> torch.Tensor:
    target = torch.arange(len(logits))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def train_retrieval(
    pairs_train: TextPosePairs,
    pairs_val: TextPosePairs | None = None,
    epochs: int = 30,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    config: RetrievalConfig | None = None,
    embedder: SentenceEmbedder | None = None,
    progress: bool = True,
) -> RetrievalModel:
    """Train a `RetrievalModel` on text-pose pairs. Sentence embeddings are computed once per
    unique text. With `pairs_val`, the weights of the epoch with the best validation "mean"
    recall are kept. `model.history` lists per-epoch loss (and validation recall)."""
    if len(pairs_train) < 2:
        raise InvalidInputError("need at least 2 training pairs")
    if epochs < 1 or batch_size < 2 or lr <= 0:
        raise InvalidInputError("need epochs >= 1, batch_size >= 2 and lr > 0")
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = RetrievalModel(config, embedder)
    vocab = list(dict.fromkeys(t for ts in pairs_train.texts for t in ts))
    table = model.embedder.embed(vocab, progress=progress)
    row = {t: i for i, t in enumerate(vocab)}
    text_rows = [np.array([row[t] for t in ts]) for ts in pairs_train.texts]
    features = pose_features(pairs_train.poses)

    def run_epoch(step: Step) -> float:
        order = rng.permutation(len(pairs_train))
        losses = []
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            if len(idx) < 2:
                continue
            texts = [text_rows[i][rng.integers(len(text_rows[i]))] for i in idx]
            pose = model.project_pose(features[idx])
            text = model.project_text(table[texts])
            loss = _symmetric_info_nce(model.scale() * pose @ text.T)
            step(loss)
            losses.append(loss.item())
        return float(np.mean(losses))

    validate = None
    if pairs_val is not None and len(pairs_val) > 1:
        val_sentences = model.embedder.embed(pairs_val.first_texts(), progress=progress)

        def validate() -> dict[str, float]:
            return _evaluate_encoded(model, val_sentences, pairs_val.poses)

    steps = math.ceil(len(pairs_train) / batch_size)
    history = fit_best_epoch(
        model, run_epoch, epochs, steps, lr, validate, "mean", True, "retrieval", progress
    )
    model.history = history
    model.train_seconds = time.perf_counter() - start
    return model.eval()


@torch.no_grad()
def evaluate_retrieval(
    model: RetrievalModel,
    texts: Sequence[str],
    poses: torch.Tensor,
    gallery_size: int | None = None,
    seed: int = 0,
    k_values: Sequence[int] = DEFAULT_K,
) -> dict[str, float]:
    """Recall@K (percent) of text->pose ("t2p_R@K") and pose->text ("p2t_R@K") retrieval of
    pairs (texts[i], poses[i]), their "mean", the number of pairs "n" and the smallest gallery
    size "gallery"; protocol in the module docstring."""
    if len(texts) != len(poses):
        raise InvalidInputError(f"need one pose per text, got {len(texts)} and {len(poses)}")
    sentences = model.embedder.embed(texts)
    return _evaluate_encoded(model, sentences, poses, gallery_size, seed, k_values)


@torch.no_grad()
def _evaluate_encoded(
    model: RetrievalModel,
    sentences: torch.Tensor,
    poses: torch.Tensor,
    gallery_size: int | None = None,
    seed: int = 0,
    k_values: Sequence[int] = DEFAULT_K,
) -> dict[str, float]:
    """`evaluate_retrieval` from precomputed sentence embeddings (N, text_dim)."""
    was_training = model.training
    model.eval()
    n = len(sentences)
    text = torch.cat(
        [model.project_text(sentences[i : i + EVAL_CHUNK]) for i in range(0, n, EVAL_CHUNK)]
    )
    pose = torch.cat(
        [model.encode_pose(poses[i : i + EVAL_CHUNK]) for i in range(0, n, EVAL_CHUNK)]
    )
    model.train(was_training)
    return retrieval_recalls(text, pose, gallery_size, seed, k_values)


def retrieval_recalls(
    text: torch.Tensor,
    pose: torch.Tensor,
    gallery_size: int | None = None,
    seed: int = 0,
    k_values: Sequence[int] = DEFAULT_K,
) -> dict[str, float]:
    """The recalls of `evaluate_retrieval` from matching embeddings text[i] <-> pose[i]."""
    n = len(text)
    if n < 2 or pose.shape != text.shape:
        raise InvalidInputError(
            f"need >= 2 pairs of equal-size embeddings, got {tuple(text.shape)} and "
            f"{tuple(pose.shape)}"
        )
    if gallery_size is not None and gallery_size < 2:
        raise InvalidInputError(f"gallery_size must be >= 2, got {gallery_size}")
    count = 1 if gallery_size is None else max(1, n // gallery_size)
    order = torch.as_tensor(np.random.default_rng(seed).permutation(n))
    galleries = torch.tensor_split(order, count)
    totals: dict[str, float] = {}
    for gallery in galleries:
        similarity = text[gallery] @ pose[gallery].T
        for direction, sim in (("t2p", similarity), ("p2t", similarity.T)):
            for key, value in recall_at_k(sim, k_values=k_values).items():
                name = f"{direction}_{key}"
                totals[name] = totals.get(name, 0.0) + value * len(gallery) / n
    totals["mean"] = float(np.mean(list(totals.values())))
    totals["n"] = float(n)
    totals["gallery"] = float(min(len(g) for g in galleries))
    return totals


#: The two retrieval protocols papers report (and mix): every query against the whole test
#: split (PoseScript), and against a pool of its partner + 31 others drawn at random.
LITERATURE_PROTOCOLS = {"whole test split": None, "32-candidate pools": 32}
LITERATURE_K = (1, 5, 10)


def pool_recalls(
    text: torch.Tensor,
    pose: torch.Tensor,
    pool: int = 32,
    seed: int = 0,
    k_values: Sequence[int] = LITERATURE_K,
) -> dict[str, float]:
    """Recall@K (percent) with each query ranking a pool of `pool` candidates: its own partner
    and pool - 1 others drawn at random (seeded) from the rest, in both directions."""
    n = len(text)
    if n < pool or pose.shape != text.shape or pool < 2:
        raise InvalidInputError(f"need >= {pool} pairs of equal-size embeddings, got {n}")
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.choice(n - 1, pool - 1, replace=False) for _ in range(n)])
    others = torch.as_tensor(draws + (draws >= np.arange(n)[:, None]))  # skip the partner
    candidates = torch.cat([torch.arange(n)[:, None], others], dim=1)  # the partner first
    out: dict[str, float] = {}
    for direction, queries, keys in (("t2p", text, pose), ("p2t", pose, text)):
        similarity = torch.einsum("nd,npd->np", queries, keys[candidates])
        gt = torch.zeros(n, dtype=torch.long)
        for key, value in recall_at_k(similarity, gt, k_values).items():
            out[f"{direction}_{key}"] = value
    return out


@torch.no_grad()
def text_pose_embeddings(
    model: RetrievalModel, texts: Sequence[str], poses: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The evaluator's (N, D) embeddings of `texts` and of `poses`."""
    was_training = model.training
    model.eval()
    text = model.encode_text(list(texts))
    pose = torch.cat(
        [model.encode_pose(poses[i : i + EVAL_CHUNK]) for i in range(0, len(poses), EVAL_CHUNK)]
    )
    model.train(was_training)
    return text, pose


@torch.no_grad()
def literature_recalls(
    model: RetrievalModel, texts: Sequence[str], poses: torch.Tensor, seed: int = 0
) -> dict[str, dict[str, float]]:
    """R@1/5/10 in both directions and their mean ("mRecall") of the pairs (texts[i], poses[i])
    under each of LITERATURE_PROTOCOLS (a protocol needing more pairs than there are is left
    out)."""
    if len(texts) != len(poses) or len(texts) < 2:
        raise InvalidInputError(f"need >= 2 texts with one pose each, got {len(texts)}")
    text, pose = text_pose_embeddings(model, texts, poses)
    out = {}
    for name, pool in LITERATURE_PROTOCOLS.items():
        if pool is None:
            recalls = retrieval_recalls(text, pose, None, seed, LITERATURE_K)
            recalls = {k: v for k, v in recalls.items() if "_R@" in k}
        elif len(texts) >= pool:
            recalls = pool_recalls(text, pose, pool, seed)
        else:
            continue
        out[name] = {**recalls, "mRecall": float(np.mean(list(recalls.values())))}
    return out


def r_precision(
    text: torch.Tensor,
    pose: torch.Tensor,
    k_values: Sequence[int] = (1, 2, 3),
    candidates: int = 32,
    repetitions: int = 10,
    seed: int = 0,
) -> dict[str, float]:
    """R-precision (percent) of matching embeddings text[i] <-> pose[i], as PoseScript and
    UniPose report pose captioning: each pose ranks its own text in a pool of `candidates`
    (`pool_recalls`, pose -> text; all items when there are fewer), "R@K" averaged over
    `repetitions` draws of the pools."""
    pool = min(candidates, len(text))
    runs = [pool_recalls(text, pose, pool, seed + r, k_values) for r in range(repetitions)]
    return {f"R@{k}": float(np.mean([run[f"p2t_R@{k}"] for run in runs])) for k in k_values}

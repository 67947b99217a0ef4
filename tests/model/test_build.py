"""Presets, what trains in scratch and LoRA mode, building on a local llava-hf checkpoint, and
deepening a trained model."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from posegpt.errors import InvalidInputError
from posegpt.model import POSE_TOKEN, PRESETS, build_model, get_config
from posegpt.model.build import deepened_layers, grow, grown_parts, new_token_ids


def _grads(model, make_batch) -> dict[str, torch.Tensor | None]:
    model.zero_grad(set_to_none=True)
    out = model(make_batch(model))
    (out.ce_loss + 0.1 * out.pose_loss).backward()
    return {name: p.grad for name, p in model.named_parameters()}


def test_tiny_preset_is_small(tokenizer):
    model = build_model("tiny", tokenizer)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    assert model.config.image_seq_length == 16
    assert {"tiny", "small", "medium", "llava-1.5"} <= PRESETS.keys()
    with pytest.raises(InvalidInputError):
        get_config("huge")
    with pytest.raises(InvalidInputError):
        get_config("tiny", image_size=30)  # not a multiple of the patch size


def test_scratch_mode_trains_everything_used(tokenizer, make_batch):
    grads = _grads(build_model("tiny", tokenizer), make_batch)
    unused = {n for n, g in grads.items() if g is None}
    assert unused == {
        "llava.model.vision_tower.post_layernorm.weight",
        "llava.model.vision_tower.post_layernorm.bias",
    }
    assert any(g.abs().sum() > 0 for n, g in grads.items() if "vision_tower.encoder" in n)
    assert any(g.abs().sum() > 0 for n, g in grads.items() if "pose_head" in n)
    frozen = _grads(build_model(get_config("tiny", freeze_vision=True), tokenizer), make_batch)
    assert all(g is None for n, g in frozen.items() if "vision_tower" in n)
    assert all(g is not None for n, g in frozen.items() if "multi_modal_projector" in n)


def test_lora_mode_trains_adapters_head_and_new_token_rows(tokenizer, make_batch):
    model = build_model(get_config("tiny", mode="lora", lora_r=4, lora_alpha=8), tokenizer)
    grads = _grads(model, make_batch)
    trained = {n for n, g in grads.items() if g is not None}
    assert trained == {n for n, p in model.named_parameters() if p.requires_grad}
    for name in trained:
        assert "lora_" in name or "trainable_tokens_delta" in name or name.startswith("pose_")
        assert "vision_tower" not in name and "multi_modal_projector" not in name
    assert any("lora_" in n and "language_model" in n for n in trained)
    assert any("lm_head" in n for n in trained)
    # one optimizer step changes only the new tokens' embedding rows
    embed = model.backbone.get_input_embeddings()
    all_ids = torch.arange(len(model.tokenizer))
    before = embed(all_ids).detach().clone()
    torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0).step()
    changed = (embed(all_ids).detach() != before).any(dim=1).nonzero()[:, 0].tolist()
    assert changed and set(changed) <= set(new_token_ids(model.tokenizer))
    assert model.pose_token_id in changed


def test_llava_checkpoint_gets_pose_tokens_and_lora(
    tmp_path, corpus, make_batch, write_llava_checkpoint
):
    write_llava_checkpoint(tmp_path, corpus)
    with pytest.raises(InvalidInputError):
        build_model("llava-1.5")  # needs the checkpoint folder
    model = build_model(get_config("llava-1.5", lora_r=4, lora_alpha=8), llava_path=tmp_path)
    cfg = model.config
    assert (cfg.hidden_size, cfg.image_size, cfg.patch_size, cfg.mode) == (64, 32, 8, "lora")
    assert model.backbone.config.text_config.vocab_size == len(model.tokenizer)
    pose = model.tokenizer.encode("is <POSE>.", add_special_tokens=False)
    assert pose.count(model.tokenizer.convert_tokens_to_ids(POSE_TOKEN)) == 1
    grads = _grads(model, make_batch)
    assert all(
        g is None for n, g in grads.items() if "vision_tower" in n or "multi_modal_projector" in n
    )
    assert all(g is not None for n, g in grads.items() if "lora_" in n or "pose_head" in n)
    reply = model.chat([{"role": "user", "content": "Hello"}], max_new_tokens=4)
    assert len(reply.poses) == reply.text.count(POSE_TOKEN)


def test_copied_layers_are_spread_evenly_after_the_layers_they_copy():
    assert deepened_layers(4, 6) == [
        (0, False),
        (1, False),
        (1, True),
        (2, False),
        (3, False),
        (3, True),
    ]
    assert [i for i, _ in deepened_layers(2, 7)] == [0, 0, 0, 1, 1, 1, 1]
    assert [copy for _, copy in deepened_layers(3, 4)] == [False, False, False, True]


def test_a_deeper_model_starts_as_its_origin_and_its_copies_train(tokenizer, make_batch):
    """More layers grow a trained scratch model: the copies pass their input on, so the logits
    and poses are the origin's, and their zeroed outputs get gradients."""
    torch.manual_seed(0)
    origin = build_model("tiny", tokenizer).eval()
    depth = origin.config.num_layers
    deeper = grow(origin, dataclasses.replace(origin.config, num_layers=depth + 2)).eval()
    assert len(deeper.llava.model.language_model.layers) == depth + 2
    batch = make_batch(origin)
    with torch.no_grad():
        before, after = origin(batch), deeper(batch)
    torch.testing.assert_close(after.logits, before.logits)
    torch.testing.assert_close(after.pred_rotmat, before.pred_rotmat)

    copies = grown_parts(origin.config, deeper.config)
    assert len(copies) == 2
    grads = _grads(deeper.train(), make_batch)
    zeroed = [n for n in grads if n.startswith(copies) and ("o_proj" in n or "down_proj" in n)]
    assert len(zeroed) == 4  # o_proj and down_proj of each copy
    assert all(grads[n] is not None and grads[n].abs().sum() > 0 for n in zeroed)
    with pytest.raises(InvalidInputError, match="num_layers"):
        grow(deeper, dataclasses.replace(deeper.config, num_layers=depth))


def test_a_photo_head_starts_as_a_copy_and_answers_the_pictures(tokenizer, make_batch):
    """Grown by a photo head, a model answers as before; then the answer in the conversation
    with a picture (the batch's first pose) comes from the photo MLP and trains it alone."""
    torch.manual_seed(0)
    origin = build_model("tiny", tokenizer).eval()
    torch.nn.init.normal_(origin.pose_head.mlp[-1].weight, std=0.1)  # a head that has learnt
    grown = grow(origin, dataclasses.replace(origin.config, photo_head=True)).eval()
    assert grown_parts(origin.config, grown.config) == ("pose_head.photo_mlp.",)
    batch = make_batch(origin)
    with torch.no_grad():
        before = origin(batch).pred_rotmat
        torch.testing.assert_close(grown(batch).pred_rotmat, before)
        grown.pose_head.photo_mlp[-1].bias.add_(0.5)
        moved = grown(batch).pred_rotmat
    assert not torch.allclose(moved[0], before[0]) and torch.equal(moved[1:], before[1:])
    grads = _grads(grown.train(), make_batch)
    photo = [n for n in grads if n.startswith("pose_head.photo_mlp.")]
    assert photo and all(grads[n].abs().sum() > 0 for n in photo)

"""LLaVA-Instruct-150K (Liu et al., NeurIPS 2023) -> instructions/llava-instruct/train.json.

Input, as released: `llava_instruct_150k.json` (or any LLaVA-format list: the 80K / 665K mix),
[{"id", "image": "000000033471.jpg", "conversations": [{"from": "human", "value":
"<image>\\n..."}, {"from": "gpt", "value": "..."}, ...]}]; images are COCO train2017 (`--images`).
Items are checked as posegpt reads them and kept word for word; items without an image stay
text-only. An item posegpt cannot read (bad roles, a path leaving the image folder) stops the
run with its index.
"""

from __future__ import annotations

from pathlib import Path

from posegpt.data.formats import conversation_to_llava, llava_to_conversation, read_json
from posegpt.data.prepare.common import Output, find_one, progress
from posegpt.errors import ModelFileError

NAME = "llava-instruct"


def prepare(
    src: Path, out: Path, images: Path | None = None, show: bool = True, **_: object
) -> dict:
    """Convert a LLaVA instruction json (`src`, or the llava_*.json in the folder `src`)."""
    path = find_one(src, ("llava_instruct_150k.json", "llava_*.json"), "LLaVA instruction json")
    data = read_json(path)
    if not isinstance(data, list):
        raise ModelFileError(f"{path} must hold a JSON list of conversations")
    items, with_image, turns = [], 0, 0
    for i, item in enumerate(progress(data, "LLaVA-Instruct", show)):
        conversation = llava_to_conversation(item, f"{path} item {i}")
        if conversation.image is not None:
            conversation.image = f"{NAME}/{conversation.image}"
            with_image += 1
        turns += len(conversation.messages)
        items.append(conversation_to_llava(conversation, str(conversation.meta.pop("id", i))))
    output = Output(out, NAME)
    output.write_llava("train", items)
    output.link_images(images)
    return output.finish({"train": len(items), "with_image": with_image, "turns": turns}, {}, path)

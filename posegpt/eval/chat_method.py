"""PoseGPT as a benchmarked method: one chat request per item, as a user would ask.

Each item is asked in a fresh conversation (its prompt: the test set's wording of the request),
decoded greedily. The first `<POSE>` of the reply is the answer; a reply without one is scored
with the T-pose (identity rotations), the pose an untrained pose head gives, and counts against
the emission rate (`pose_counts`). Replies are cut to fit the model's context.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from tqdm import tqdm

from posegpt.body.base import BodyModel
from posegpt.body.rotations import identity_pose
from posegpt.chat_defaults import OWN_ANSWERS, AnswerOptions
from posegpt.data.templates import IMAGE2POSE_QUESTIONS, RPE_QUESTIONS
from posegpt.eval.baselines.base import IMAGE_TASKS, TEXT_TASKS, Method
from posegpt.eval.items import Box
from posegpt.model import PoseGPT, Reply
from posegpt.records import with_image

#: Most tokens of an answer to a pose request, and of other answers.
POSE_REPLY_TOKENS = 48
TEXT_REPLY_TOKENS = 96


class PoseGPTMethod(Method):
    """A PoseGPT model behind the `Method` interface; `pose_counts` holds, for the items of the
    latest predict call, how many poses each reply held."""

    tasks = TEXT_TASKS + IMAGE_TASKS
    reads_descriptions = True
    chats = True

    def __init__(
        self,
        model: PoseGPT,
        name: str = "posegpt",
        progress: bool = False,
        body: BodyModel | None = None,
        options: AnswerOptions = OWN_ANSWERS,
    ) -> None:
        self.model = model.eval()
        self.name = name
        self.progress = progress
        # how each answer is made (`PoseGPT.chat`); `body` refines photo answers if `options` say
        self.body, self.options = body, options
        self.pose_counts: list[int] = []

    def ask(
        self,
        messages: Sequence[dict[str, str]],
        image: Image.Image | None = None,
        max_new_tokens: int = TEXT_REPLY_TOKENS,
    ) -> Reply:
        """The model's greedy reply to a conversation, cut to fit the model's context (an empty
        reply if the conversation alone fills it)."""
        messages = [dict(m) for m in messages]
        prompt = self.model.encode(messages, add_generation_prompt=True)[0]
        room = self.model.config.max_length - len(prompt) - 1
        if room < 1:
            return Reply("", [])
        return self.model.chat(
            messages,
            image=image,
            max_new_tokens=min(max_new_tokens, room),
            **self.options.chat_kwargs(self.body),
        )

    def predict_text(
        self, texts: Sequence[str], prompts: Sequence[str] | None = None
    ) -> torch.Tensor:
        questions = list(prompts) if prompts is not None else list(texts)
        return self._answer(questions, [None] * len(questions))

    def predict_image(
        self,
        images: Sequence[Image.Image],
        descriptions: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
        people: Sequence[Sequence[Box]] | None = None,
    ) -> torch.Tensor:
        if prompts is not None:
            questions = list(prompts)
        elif descriptions is not None:
            questions = [
                with_image(RPE_QUESTIONS[0].format(target=d.rstrip(" .!?"))) for d in descriptions
            ]
        else:
            questions = [with_image(IMAGE2POSE_QUESTIONS[0])] * len(images)
        return self._answer(questions, images)

    def _answer(self, questions: list[str], images: Sequence[Image.Image | None]) -> torch.Tensor:
        poses, self.pose_counts = [], []
        for i in tqdm(
            range(len(questions)),
            desc=self.name,
            unit="request",
            disable=not self.progress,
            leave=False,
        ):
            reply = self.ask(
                [{"role": "user", "content": questions[i]}], images[i], POSE_REPLY_TOKENS
            )
            self.pose_counts.append(len(reply.poses))
            poses.append(reply.poses[0] if reply.poses else identity_pose())
        return torch.stack(poses) if poses else identity_pose(0)

"""General instruction data: conversations that are not pose requests, so the model keeps talking.

Kinds (`INSTRUCTION_KINDS`):
  facts      questions about the pose of the person in an image, answered from the captioner's
             facts ("Is the left arm raised?" -> "Yes.")
  follow_up  a text->pose request, then a question about that pose (the one kind with a pose)
  count      "How many people are in the image?"
  behaviour  "What is the man in the red t-shirt doing?" -> the person's behaviour
  describe   "Describe the pose of the person." -> a caption, in words only
  chat       greetings, what the assistant can do, what SMPL is (canned but varied answers)
The user's wordings are split train / val / test per kind (`question_split`); answers are shared.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from posegpt.data.conversations import text2pose_conversation
from posegpt.data.splits import in_split, split_items
from posegpt.data.templates import NUMBER_WORDS, as_sentence, pick
from posegpt.errors import InvalidInputError
from posegpt.records import Conversation, Message, with_image

INSTRUCTION_KINDS = ("facts", "follow_up", "count", "behaviour", "describe", "chat")

#: Wrappers of the captioner's fact questions (`{question}`).
FACT_QUESTIONS: tuple[str, ...] = (
    "{question}",
    "Look at the person. {question}",
    "Quick question about this person: {question}",
    "About the pose in this picture: {question}",
    "{question} Please answer briefly.",
    "Tell me, {question_lower}",
    "I have a question about the person's pose. {question}",
    "Can you check something? {question}",
    "From what you can see, {question_lower}",
    "Regarding this person's posture: {question}",
)
#: Follow-up questions about the pose just given.
FOLLOW_UPS: tuple[str, ...] = (
    "In that pose, {question_lower}",
    "Thanks. {question}",
    "And in this pose, {question_lower}",
    "One more thing: {question_lower}",
    "Looking at the pose you gave, {question_lower}",
    "OK. {question}",
    "About that pose: {question}",
    "Got it. {question}",
)
COUNT_QUESTIONS: tuple[str, ...] = (
    "How many people are in the image?",
    "How many people can you see?",
    "Count the people in this picture.",
    "How many persons are there in this photo?",
    "What is the number of people in the image?",
    "How many humans appear here?",
    "Can you tell me how many people are in this picture?",
    "How many people does this image show?",
)
COUNT_ANSWERS: tuple[str, ...] = (
    "There {are} {n} {people} in the image.",
    "I can see {n} {people}.",
    "{N}.",
    "The picture shows {n} {people}.",
)
BEHAVIOUR_QUESTIONS: tuple[str, ...] = (
    "What is {target} doing?",
    "What's {target} up to?",
    "Tell me what {target} is doing.",
    "Can you say what {target} is doing in this picture?",
    "What activity is {target} engaged in?",
    "Describe what {target} is doing.",
    "Look at {target}. What are they doing?",
    "What action is {target} performing?",
)
BEHAVIOUR_ANSWERS: tuple[str, ...] = (
    "{Target} is {behaviour}.",
    "They are {behaviour}.",
    "{Behaviour}.",
    "It looks like {target} is {behaviour}.",
)
DESCRIBE_QUESTIONS: tuple[str, ...] = (
    "Describe the pose of {target}.",
    "How is {target} posed? Answer in words.",
    "Describe the body posture of {target}.",
    "What position is {target} in? Describe it in words.",
    "In words, how are the arms and legs of {target} placed?",
    "Can you describe how {target} is holding their body?",
    "Give a short description of the pose of {target}.",
    "Explain in words the pose of {target}.",
)

#: Chat topics: user wordings (split) and assistant answers (shared).
CHAT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "greeting": (
        (
            "Hi!",
            "Hello there.",
            "Good morning!",
            "Hey, how are you?",
            "Hello, who are you?",
            "Hi, nice to meet you.",
        ),
        (
            "Hello! I can estimate and generate 3D human poses. Show me a photo, describe a "
            "pose, or tell me about a situation.",
            "Hi! I'm an assistant for 3D human poses. What would you like to see?",
            "Hello! Ask me about a person's pose, in a picture or in words.",
        ),
    ),
    "abilities": (
        (
            "What can you do?",
            "How can you help me?",
            "What are you able to do?",
            "What kind of questions can I ask you?",
            "What are your skills?",
            "What is this assistant for?",
        ),
        (
            "I work with 3D human poses. I can give the SMPL pose of a person in a photo, of "
            "one person described among several, of a pose described in words, or guess the "
            "pose of someone in a situation you describe. I can also answer questions about "
            "poses.",
            "Give me an image and I will estimate the 3D pose of the person in it; describe a "
            "pose and I will generate it; tell me a situation, like someone proposing "
            "marriage, and I will suggest a plausible pose.",
        ),
    ),
    "smpl": (
        (
            "What is SMPL?",
            "What is an SMPL pose?",
            "How do you represent a pose?",
            "What format are your poses in?",
            "Explain the SMPL body model.",
            "What do the numbers of a pose mean?",
        ),
        (
            "SMPL is a parametric 3D body model. A pose is 24 joint rotations: the first turns "
            "the whole body at the pelvis, the other 23 rotate each joint relative to its "
            "parent. With shape parameters it gives a full body mesh.",
            "My poses use the SMPL skeleton: 24 joints, each with a 3D rotation. Joint 0 is "
            "the global orientation; the rest bend the spine, neck, head, arms and legs.",
        ),
    ),
    "thanks": (
        (
            "Thanks!",
            "Thank you, that helps.",
            "Great, thanks a lot.",
            "Perfect, thank you.",
            "Cheers!",
            "Thanks for your help.",
        ),
        (
            "You're welcome! Ask me for another pose any time.",
            "Glad I could help.",
            "My pleasure.",
        ),
    ),
    "identity": (
        (
            "Can you recognise people from a photo?",
            "If I show you a picture, can you tell me who is in it?",
            "Can you identify people by their face?",
            "Do you know who people are?",
            "Can you find out a person's name from an image?",
            "Will you tell me who someone is if I send a photo?",
        ),
        (
            "No, I can't tell who a person is. I only describe and estimate body poses.",
            "No, I don't identify people, but I can tell you about their pose.",
        ),
    ),
}
MAX_FACT_TURNS = 3
#: Most people a count answer names.
MAX_COUNTED = 10

_QUESTIONS: dict[str, tuple[str, ...]] = {
    "facts": FACT_QUESTIONS,
    "follow_up": FOLLOW_UPS,
    "count": COUNT_QUESTIONS,
    "behaviour": BEHAVIOUR_QUESTIONS,
    "describe": DESCRIBE_QUESTIONS,
    **{f"chat/{topic}": questions for topic, (questions, _) in CHAT.items()},
}


@cache
def question_split(kind: str, seed: int = 0) -> dict[str, tuple[str, ...]]:
    """The user wordings of an instruction kind ("facts", ..., "chat/<topic>") per split."""
    if kind not in _QUESTIONS:
        raise InvalidInputError(
            f"unknown instruction kind {kind!r}; valid: {', '.join(_QUESTIONS)}"
        )
    return split_items(_QUESTIONS[kind], seed, f"instructions/{kind}")


def _ask(kind: str, rng: np.random.Generator, split: str, seed: int, **fields: str) -> str:
    return pick(in_split(question_split(kind, seed), split, f"{kind} questions"), rng).format(
        **fields
    )


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _fact_fields(question: str) -> dict[str, str]:
    question = " ".join(question.split())
    return {"question": question, "question_lower": question[0].lower() + question[1:]}


def facts_conversation(
    image: str,
    facts: list[tuple[str, str]],
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """1-3 questions about the pose of the person in `image`, answered from `facts`."""
    if not facts:
        raise InvalidInputError("facts_conversation needs at least one (question, answer) fact")
    turns = min(len(facts), int(rng.integers(1, MAX_FACT_TURNS + 1)))
    messages = []
    for k, i in enumerate(rng.choice(len(facts), size=turns, replace=False)):
        question, answer = facts[int(i)]
        text = _ask("facts", rng, split, seed, **_fact_fields(question))
        messages.append(Message("user", with_image(text) if k == 0 else text))
        messages.append(Message("assistant", as_sentence(answer)))
    return Conversation(messages, [], image, "instruction", {"kind": "facts", **(meta or {})})


def follow_up_conversation(
    description: str,
    rotmat: torch.Tensor,
    facts: list[tuple[str, str]],
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """A text->pose request, then a question about the pose given."""
    if not facts:
        raise InvalidInputError("follow_up_conversation needs at least one fact")
    conversation = text2pose_conversation(description, rotmat, rng, split, seed)
    question, answer = facts[int(rng.integers(len(facts)))]
    text = _ask("follow_up", rng, split, seed, **_fact_fields(question))
    conversation.messages += [Message("user", text), Message("assistant", as_sentence(answer))]
    conversation.task = "instruction"
    conversation.meta = {"kind": "follow_up", **(meta or {})}
    return conversation


def count_conversation(
    image: str,
    num_people: int,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """ "How many people are in the image?" -> "There are three people in the image." """
    if not 0 <= num_people <= MAX_COUNTED:
        raise InvalidInputError(f"num_people must be 0..{MAX_COUNTED}, got {num_people}")
    n = NUMBER_WORDS[num_people]
    answer = pick(COUNT_ANSWERS, rng).format(
        n=n,
        N=_cap(n),
        are="is" if num_people == 1 else "are",
        people="person" if num_people == 1 else "people",
    )
    question = with_image(_ask("count", rng, split, seed))
    return _instruction(question, answer, image, "count", meta)


def behaviour_conversation(
    image: str,
    target: str,
    behaviour: str,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    meta: dict | None = None,
) -> Conversation:
    """ "What is the man in the red t-shirt doing?" -> "The man in the red t-shirt is waving." """
    question = with_image(_ask("behaviour", rng, split, seed, target=target))
    answer = pick(BEHAVIOUR_ANSWERS, rng).format(
        target=target, Target=_cap(target), behaviour=behaviour, Behaviour=_cap(behaviour)
    )
    return _instruction(question, answer, image, "behaviour", meta)


def describe_conversation(
    image: str,
    caption: str,
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    target: str = "the person",
    meta: dict | None = None,
) -> Conversation:
    """ "Describe the pose of the person." -> a caption of the pose, in words (no `<POSE>`)."""
    question = with_image(_ask("describe", rng, split, seed, target=target))
    return _instruction(question, as_sentence(caption), image, "describe", meta)


def chat_conversation(
    rng: np.random.Generator,
    split: str = "train",
    seed: int = 0,
    topic: str | None = None,
    meta: dict | None = None,
) -> Conversation:
    """A canned exchange: greeting, abilities, SMPL, thanks or identity (a random topic)."""
    topic = topic or list(CHAT)[int(rng.integers(len(CHAT)))]
    if topic not in CHAT:
        raise InvalidInputError(f"unknown chat topic {topic!r}; valid: {', '.join(CHAT)}")
    question = _ask(f"chat/{topic}", rng, split, seed)
    answer = pick(CHAT[topic][1], rng)
    return _instruction(question, answer, None, "chat", {"topic": topic, **(meta or {})})


def _instruction(
    question: str, answer: str, image: str | None, kind: str, meta: dict | None
) -> Conversation:
    return Conversation(
        [Message("user", question), Message("assistant", answer)],
        [],
        image,
        "instruction",
        {"kind": kind, **(meta or {})},
    )

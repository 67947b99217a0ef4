"""Terse messages asked again for their pose (posegpt.model.ask_again, `PoseGPT.chat`)."""

from __future__ import annotations

import torch

from posegpt.data.templates import IMAGE2POSE_QUESTIONS
from posegpt.model import Reply
from posegpt.model.ask_again import AGAIN, ONE_PERSON_AGAIN, again, close_enough, is_question
from posegpt.model.network import _asked_again, _photo_asked_again
from posegpt.model.pose_count import PoseCount
from posegpt.records import with_image


def test_questions_are_told_from_other_messages():
    for text in ("What muscles does a squat work?", "is kneeling bad for you", "Why not"):
        assert is_question(text)
    for text in ("cobra", "A lad kicking a football", "Bye for now.", "Whatever you like."):
        assert not is_question(text)


def _embed(texts: list[str]) -> torch.Tensor:
    """A bag of letters: texts that share words are close, others not."""
    out = torch.zeros(len(texts), 26)
    for row, text in enumerate(texts):
        for letter in text.lower():
            if letter.isascii() and letter.isalpha():
                out[row, ord(letter) - ord("a")] += 1
    return out - out.mean(dim=1, keepdim=True)


def test_the_reply_asked_again_is_kept_only_with_one_close_pose(recording_chat):
    pose = torch.eye(3).expand(24, 3, 3)
    chat, asked = recording_chat.answering, recording_chat.asked
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
    messages = [*history, {"role": "user", "content": "cobra"}]
    words = ("I only know poses.", [])
    close = Reply("Got it: the cobra pose. <POSE>", [pose])
    assert _asked_again(chat(close), _embed, messages, "cobra", *words) == (close.text, close.poses)
    assert asked[-1] == [*history, {"role": "user", "content": AGAIN.format(message="cobra")}]
    far = Reply("Here is someone sitting: <POSE>", [pose])
    two = Reply("Got it: cobra <POSE> cobra <POSE>", [pose, pose])
    for reply in (far, two, Reply("No.", [])):
        assert _asked_again(chat(reply), _embed, messages, "cobra", *words) == words
    asked.clear()
    question = [{"role": "user", "content": "What is a cobra?"}]
    assert _asked_again(chat(close), _embed, question, "What is a cobra?", *words) == words
    assert not asked  # a question is answered as it was


def test_a_message_that_asks_for_several_poses_keeps_a_reply_with_that_many():
    pose = torch.eye(3).expand(24, 3, 3)
    message = "Squat, then jump."
    words = ("Warm up first.", [])
    two = Reply("Squat <POSE> then jump <POSE>", [pose, pose])
    one = Reply("Squat then jump <POSE>", [pose])
    asked = [{"role": "user", "content": message}]
    count = PoseCount(2)
    assert _asked_again(lambda m: two, _embed, asked, message, *words, count) == (
        two.text,
        two.poses,
    )
    assert _asked_again(lambda m: one, _embed, asked, message, *words, count) == words
    assert _asked_again(lambda m: two, _embed, asked, message, *words) == words  # one wanted


def test_close_enough_reads_the_cosine():
    assert close_enough(_embed, "cobra pose", "the cobra pose")
    assert not close_enough(lambda texts: torch.tensor([[1.0, 0.0], [0.0, 1.0]]), "a", "b")


def test_chat_without_sentence_features_answers_as_asked(words_only_model):
    model = words_only_model
    request = [{"role": "user", "content": "cobra"}]
    plain = model.chat(request, max_new_tokens=4)
    again = model.chat(request, max_new_tokens=4, ask_again=True)
    assert (again.text, len(again.poses)) == (plain.text, len(plain.poses))


def test_a_message_asked_again_keeps_its_picture_marker_in_front():
    assert again("cobra") == AGAIN.format(message="cobra")
    marked = again(with_image("What pose is he in?"))
    assert marked == with_image(AGAIN.format(message="What pose is he in?"))


def test_a_photo_question_of_one_person_is_then_asked_as_the_training_data_asks():
    """`_photo_asked_again`: the message asked again for its pose first; if that gives no
    single pose, in a picture of one person, ONE_PERSON_AGAIN (a training question)."""
    assert ONE_PERSON_AGAIN in IMAGE2POSE_QUESTIONS
    pose = torch.eye(3).expand(24, 3, 3)
    message = with_image("How are they posed here?")
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"}]
    messages = [*history, {"role": "user", "content": message}]
    posed = Reply("Here is the pose: <POSE>", [pose])
    asked: list[str] = []

    def chat(replies: dict[str, Reply]):
        def answer(question):
            assert question[:-1] == history
            asked.append(question[-1]["content"])
            return replies.get(asked[-1], Reply("They stand.", []))

        return answer

    first, plain = again(message), with_image(ONE_PERSON_AGAIN)
    assert _photo_asked_again(chat({first: posed}), messages, message, True) is posed
    assert asked == [first]
    asked.clear()
    assert _photo_asked_again(chat({plain: posed}), messages, message, True) is posed
    assert asked == [first, plain]
    asked.clear()
    assert _photo_asked_again(chat({plain: posed}), messages, message, False) is None
    assert asked == [first]  # several people: the plain question would not say whom
    two = Reply("<POSE> <POSE>", [pose, pose])
    assert _photo_asked_again(chat({first: two, plain: two}), messages, message, True) is None

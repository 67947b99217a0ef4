import numpy as np
import pytest

from posegpt.synth.referring import (
    DESCRIPTION_KINDS,
    HORIZONTAL_WORDS,
    describe_people,
    phrase,
    position_words,
)


def person(**changes) -> dict:
    attributes = {
        "noun": "man",
        "age_group": "adult",
        "height": None,
        "build": None,
        "hair": "brown",
        "top": "red",
        "top_garment": "t-shirt",
        "bottom": "blue",
        "bottom_garment": "trousers",
        "shoes": "black",
        "position": None,
        "depth": None,
        "near_door": False,
        "behaviour": "waving",
        "pose": "The right hand is raised.",
    }
    attributes.update(changes)
    return attributes


def test_position_words_rank_people_left_to_right():
    words = position_words([60.0, 10.0, 100.0], [3.0, 3.1, 2.9], width=120)
    assert [w[0] for w in words] == ["in the middle", "on the left", "on the right"]
    assert all(w[1] is None for w in words)  # nobody clearly nearer or farther


def test_position_words_only_for_people_clearly_apart():
    words = position_words([50.0, 52.0, 100.0, 5.0], [2.0, 4.0, 3.0, 3.2], width=100)
    horizontal = [w[0] for w in words]
    assert horizontal[0] is None and horizontal[1] is None  # two centres 2 px apart
    assert horizontal[2] == HORIZONTAL_WORDS[4][3] and horizontal[3] == HORIZONTAL_WORDS[4][0]
    assert words[0][1] == "in the front" and words[1][1] == "in the back"


def test_one_person_gets_no_position_words():
    assert position_words([40.0], [3.0], width=100) == [(None, None)]


def test_phrase_reads_naturally():
    a = person(height="tall", build="heavy-set", position="on the left")
    assert phrase(a, ["height", "build", "noun"]) == "the tall, heavy-set man"
    assert phrase(a, ["behaviour"]) == "the person who is waving"
    assert (
        phrase(a, ["height", "noun", "top", "position", "behaviour"])
        == "the tall man in the red t-shirt on the left, who is waving"
    )
    assert phrase(person(hair=None), ["hair", "noun"]) == "the bald man"
    assert phrase(a, ["top", "bottom", "shoes"]) == (
        "the person in the red t-shirt and blue trousers with black shoes"
    )


def test_descriptions_add_attributes_until_unique():
    people = [
        person(top="red", position="on the left"),
        person(top="green", position="on the right"),
    ]
    rng = np.random.default_rng(0)
    descriptions = describe_people(people, rng)
    assert descriptions is not None
    for kind in DESCRIPTION_KINDS:
        assert descriptions[0][kind] != descriptions[1][kind]
    # Same behaviour and caption: the behaviour and pose descriptions need a distinguishing word.
    assert "red" in descriptions[0]["behaviour"] or "left" in descriptions[0]["behaviour"]
    assert "green" in descriptions[1]["pose"] or "right" in descriptions[1]["pose"]
    assert "red t-shirt" in descriptions[0]["outfit"]


def test_people_alike_in_everything_cannot_be_described():
    assert describe_people([person(), person()], np.random.default_rng(0)) is None


def test_similar_poses_count_as_the_same_behaviour():
    people = [
        person(top="red", behaviour="waving", position="on the left"),
        person(top="green", behaviour="saluting", position="on the right"),
    ]
    similar = np.ones((2, 2), dtype=bool)
    descriptions = describe_people(people, np.random.default_rng(1), similar)
    assert descriptions is not None
    assert descriptions[0]["behaviour"] not in ("the person who is waving", "the man who is waving")


@pytest.mark.parametrize("seed", range(5))
def test_different_people_need_no_extra_words(seed):
    people = [
        person(noun="woman", top="yellow", behaviour="running", pose="A."),
        person(noun="boy", top="white", behaviour="sitting on a chair", pose="B."),
    ]
    descriptions = describe_people(people, np.random.default_rng(seed))
    assert descriptions is not None
    assert descriptions[1]["behaviour"] in (
        "the person who is sitting on a chair",
        "the boy who is sitting on a chair",
    )
    assert descriptions[0]["pose"] == "the person in this pose: A."


def test_the_door_can_place_a_person():
    people = [
        person(top="red", position="on the left", near_door=True),
        person(top="green", position="on the right"),
    ]
    summaries = {
        describe_people(people, np.random.default_rng(seed))[0]["summary"] for seed in range(8)
    }
    assert "the man in the red t-shirt near the door, who is waving" in summaries
    assert "the man in the red t-shirt on the left, who is waving" in summaries

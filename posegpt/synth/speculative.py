"""Speculative pose generation (SPG): guess a pose from a situation, not from a pose description.

"This man is proposing marriage, what pose might he be in?" The lexicon ties each `Situation`
(a circumstance, emotion, activity or interaction) to the pose families
(`posegpt.synth.pose_families`) that fit it, with several phrasings; queries combine a phrasing with
a template and a subject ("this woman", "a boy", ...).

A phrasing reads correctly both after "is" ("This man is {situation}") and after "someone"
("someone {situation}"); it may use `{poss}` (his / her / their). Templates may use `{who}` /
`{Who}` (the subject), `{pron}` (he / she / they, only after a modal verb) and `{poss}`.

Splits (`spg_split`): situations are split train / val / test (disjoint), templates too, and
each situation holds out one of its phrasings. "train" asks about train situations with train
templates and phrasings; "val" and "test" ask about unseen situations with unseen templates;
"test_seen" asks about train situations with test templates and the held-out phrasings (seen
situation, unseen wording).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from posegpt.data.conversations import one_turn
from posegpt.data.splits import split_items
from posegpt.data.templates import pick, pose_answer
from posegpt.errors import InvalidInputError
from posegpt.model.situations import KnownSituations
from posegpt.records import Conversation
from posegpt.synth.pose_families import FAMILY_INFO
from posegpt.synth.world import load_world_situations

KINDS = ("situation", "emotion", "activity", "interaction")
SPG_SPLITS = ("train", "val", "test", "test_seen")
_WORD = re.compile(r"[a-z']+")

#: SPG answers say what the person is probably doing before giving the pose.
SPECULATIVE_ANSWERS: tuple[str, ...] = (
    "Most likely {behaviour}. {answer}",
    "I would guess {behaviour}. {answer}",
    "Probably {behaviour}. {answer}",
    "A plausible pose: {behaviour}. {answer}",
    "Something like {behaviour}. {answer}",
)


@dataclass(frozen=True)
class Situation:
    """A situation, the pose families a person in it could be in, and ways to say it."""

    name: str
    kind: str
    families: tuple[str, ...]
    phrasings: tuple[str, ...]
    base: str = ""  # the activity it varies (same split); "" for itself

    @property
    def group(self) -> str:
        """What the seen / unseen split keeps together: the situation or its activity."""
        return self.base or self.name


def _s(name: str, kind: str, families: str, *phrasings: str) -> Situation:
    return Situation(name, kind, tuple(families.split()), phrasings)


SITUATIONS: tuple[Situation, ...] = (
    # -- interactions ---------------------------------------------------------------------
    _s(
        "proposing_marriage",
        "interaction",
        "proposing kneeling_one_knee",
        "proposing marriage",
        "asking for {poss} partner's hand in marriage",
        "about to pop the question with a ring",
        "proposing to {poss} girlfriend in a restaurant",
    ),
    _s(
        "welcoming_a_friend",
        "interaction",
        "hugging",
        "about to hug an old friend",
        "welcoming a loved one at the airport",
        "opening {poss} arms to greet a grandchild",
    ),
    _s(
        "waving_goodbye",
        "interaction",
        "waving",
        "saying goodbye to a friend on a train",
        "greeting a neighbour across the street",
        "waving to {poss} family from a boat",
    ),
    _s(
        "hailing_a_taxi",
        "interaction",
        "waving reaching_up",
        "hailing a taxi",
        "trying to stop a cab in the rain",
        "flagging down a bus that is about to leave",
    ),
    _s(
        "giving_directions",
        "interaction",
        "pointing",
        "giving directions to a lost tourist",
        "showing someone the way to the station",
        "pointing out the exit to a visitor",
    ),
    _s(
        "spotting_something",
        "interaction",
        "pointing reaching_forward",
        "showing a friend a rare bird",
        "spotting a shooting star",
        "drawing attention to a mistake on a whiteboard",
    ),
    _s(
        "asking_a_question_in_class",
        "interaction",
        "reaching_up",
        "asking a question in class",
        "volunteering to answer the teacher",
        "trying to get the attention of the lecturer",
    ),
    _s(
        "answering_the_phone",
        "interaction",
        "phone_call",
        "answering the phone",
        "taking an important call",
        "chatting with {poss} mother on the phone",
    ),
    _s(
        "saluting_an_officer",
        "interaction",
        "saluting standing_attention",
        "greeting a senior officer",
        "standing in front of the flag at a military parade",
        "reporting for duty to a general",
    ),
    _s(
        "surrendering",
        "interaction",
        "cheering reaching_up",
        "surrendering to the police",
        "told to put {poss} hands up by a robber",
        "giving up in a game of cops and robbers",
    ),
    _s(
        "shaking_hands",
        "interaction",
        "reaching_forward",
        "offering a handshake to a new colleague",
        "handing over a present",
        "passing the salt across the table",
    ),
    _s(
        "scolding_someone",
        "interaction",
        "hands_on_hips arms_crossed",
        "scolding a child who broke a vase",
        "annoyed at a friend who is late",
        "waiting for an explanation from a naughty pupil",
    ),
    _s(
        "playing_horse_for_a_toddler",
        "interaction",
        "all_fours",
        "pretending to be a horse for a toddler",
        "crawling around with a baby on the carpet",
        "playing with a puppy on the floor",
    ),
    _s(
        "pleading_forgiveness",
        "interaction",
        "kneeling_both_knees praying",
        "begging for forgiveness",
        "pleading with a king for mercy",
        "kneeling in a church",
    ),
    _s(
        "tug_of_war",
        "interaction",
        "pulling",
        "competing in a tug of war",
        "pulling a boat onto the beach",
        "hauling a heavy rope",
    ),
    # -- emotions -------------------------------------------------------------------------
    _s(
        "exhausted_after_a_marathon",
        "emotion",
        "sitting_legs_out lying_on_back bending_forward",
        "exhausted after a marathon",
        "completely worn out after a long race",
        "catching {poss} breath at the finish line",
        "too tired to take another step",
    ),
    _s(
        "cheering_a_goal",
        "emotion",
        "cheering celebrating",
        "cheering a goal",
        "watching {poss} team score in the final minute",
        "delighted by a last-minute winner",
    ),
    _s(
        "winning_a_race",
        "emotion",
        "celebrating cheering",
        "winning a race",
        "crossing the finish line in first place",
        "thrilled to have won the lottery",
    ),
    _s(
        "jumping_for_joy",
        "emotion",
        "star_jump tuck_jump",
        "jumping for joy",
        "overjoyed at passing {poss} exams",
        "so excited that {poss} feet leave the ground",
    ),
    _s(
        "sad_and_lonely",
        "emotion",
        "sitting_hugging_knees",
        "feeling sad and lonely",
        "upset after hearing bad news",
        "sulking in a corner",
    ),
    _s(
        "deep_in_thought",
        "emotion",
        "thinking",
        "trying to solve a riddle",
        "pondering a difficult question",
        "deciding what to order from a menu",
    ),
    _s(
        "bored_waiting",
        "emotion",
        "standing_relaxed arms_crossed",
        "bored while waiting for a bus",
        "waiting in a long queue",
        "tired of waiting for a late friend",
    ),
    _s(
        "feeling_confident",
        "emotion",
        "hands_on_hips",
        "posing like a superhero",
        "proud of {poss} finished painting",
        "feeling confident before a big match",
    ),
    _s(
        "cold_and_shivering",
        "emotion",
        "arms_crossed sitting_hugging_knees",
        "freezing at a bus stop in winter",
        "shivering in a cold wind",
        "trying to keep warm without a coat",
    ),
    _s(
        "hopeful_wish",
        "emotion",
        "praying",
        "praying",
        "making a wish before blowing out the candles",
        "hoping for good news",
        "saying grace before dinner",
    ),
    _s(
        "scared_hiding",
        "emotion",
        "crouching squatting sitting_hugging_knees",
        "hiding from a monster in a scary film",
        "hiding behind a sofa during hide-and-seek",
        "afraid of a thunderstorm",
    ),
    _s(
        "relaxed_sunbathing",
        "emotion",
        "lying_on_back",
        "sunbathing on the beach",
        "stargazing on a summer night",
        "making a snow angel",
    ),
    _s(
        "fast_asleep",
        "emotion",
        "lying_on_side",
        "fast asleep in bed",
        "napping on the sofa",
        "dozing off on a picnic blanket",
    ),
    _s(
        "respectful_silence",
        "emotion",
        "standing_attention",
        "listening to the national anthem",
        "standing guard outside a palace",
        "keeping a minute of silence at a memorial",
    ),
    # -- activities -----------------------------------------------------------------------
    _s(
        "searching_under_furniture",
        "activity",
        "all_fours crouching lying_on_front",
        "searching under furniture",
        "looking for a lost earring under the bed",
        "trying to find the remote under the sofa",
    ),
    _s(
        "doing_a_push_up",
        "activity",
        "lying_on_front all_fours",
        "doing a push-up",
        "in the middle of a workout on the floor",
        "doing press-ups in the gym",
    ),
    _s(
        "meditating",
        "activity",
        "sitting_cross_legged",
        "meditating",
        "doing breathing exercises on a mat",
        "sitting quietly in a temple",
    ),
    _s(
        "doing_yoga",
        "activity",
        "yoga_tree yoga_warrior_two yoga_downward_dog",
        "doing yoga in the park",
        "following an online yoga class",
        "practising yoga at a retreat",
    ),
    _s(
        "morning_stretch",
        "activity",
        "overhead_stretch side_stretch",
        "stretching after waking up",
        "yawning and stretching in the morning",
        "loosening up after hours at a desk",
    ),
    _s(
        "warming_up",
        "activity",
        "lunging side_stretch star_jump",
        "warming up before football practice",
        "getting ready for a run",
        "doing a warm-up in gym class",
    ),
    _s(
        "tying_shoelaces",
        "activity",
        "bending_forward kneeling_one_knee squatting",
        "tying {poss} shoelaces",
        "picking up a coin from the pavement",
        "touching {poss} toes",
    ),
    _s(
        "picking_apples",
        "activity",
        "reaching_up",
        "picking apples from a tree",
        "getting a box down from a high shelf",
        "changing a light bulb",
    ),
    _s(
        "jogging",
        "activity",
        "running",
        "jogging in the park",
        "running late for a train",
        "sprinting to catch a bus",
    ),
    _s(
        "strolling",
        "activity",
        "walking",
        "walking the dog",
        "strolling through town",
        "walking to work",
    ),
    _s(
        "climbing_a_ladder",
        "activity",
        "climbing",
        "cleaning the gutters from a ladder",
        "climbing a rock wall",
        "escaping over a garden wall",
    ),
    _s(
        "working_at_a_desk",
        "activity",
        "sitting_chair",
        "working at a desk",
        "watching a film at the cinema",
        "waiting at the doctor's",
    ),
    _s(
        "reading_on_the_floor",
        "activity",
        "sitting_legs_out",
        "reading a book on the floor",
        "resting against a wall after a hike",
        "relaxing on the beach with {poss} legs out",
    ),
    _s(
        "gardening",
        "activity",
        "kneeling_both_knees squatting kneeling_one_knee",
        "planting flowers",
        "weeding the garden",
        "scrubbing the kitchen floor",
    ),
    _s(
        "lifting_a_box",
        "activity",
        "squatting",
        "about to lift a heavy box off the floor",
        "doing squats at the gym",
        "looking at a small child at eye level",
    ),
    _s(
        "moving_house",
        "activity",
        "carrying",
        "moving boxes into a new flat",
        "carrying a parcel to the door",
        "bringing the laundry basket upstairs",
    ),
    _s(
        "pushing_a_car",
        "activity",
        "pushing",
        "pushing a broken-down car",
        "shoving a heavy wardrobe across the room",
        "pushing a stuck door open",
    ),
    _s(
        "taking_a_penalty",
        "activity",
        "kicking",
        "taking a penalty kick",
        "kicking a ball to a friend",
        "scoring a goal from a free kick",
    ),
    _s(
        "throwing_for_the_dog",
        "activity",
        "throwing",
        "throwing a ball for the dog",
        "pitching in a baseball game",
        "skimming stones on a lake",
    ),
    _s(
        "sparring",
        "activity",
        "boxing_guard",
        "sparring in a boxing ring",
        "ready for a fight",
        "practising self-defence",
    ),
    _s(
        "teeing_off",
        "activity",
        "golf_swing",
        "teeing off on the golf course",
        "about to hit a long drive",
        "practising at the driving range",
    ),
    _s(
        "serving_at_tennis",
        "activity",
        "tennis_serve",
        "serving for the match at Wimbledon",
        "hitting a smash over the net",
        "starting a point on the tennis court",
    ),
    _s(
        "disco_night",
        "activity",
        "dancing_disco",
        "dancing at a seventies party",
        "showing off on the dance floor",
        "imitating John Travolta",
    ),
    _s(
        "ballet_performance",
        "activity",
        "dancing_ballet",
        "performing in Swan Lake",
        "balancing gracefully in a ballet class",
        "rehearsing for a dance recital",
    ),
    _s(
        "rock_and_roll",
        "activity",
        "dancing_twist",
        "dancing at a rock and roll party",
        "doing a retro dance at a wedding",
        "dancing to Chubby Checker",
    ),
    _s(
        "doing_jumping_jacks",
        "activity",
        "star_jump",
        "doing jumping jacks",
        "in the middle of a cardio workout",
        "leading an aerobics class",
    ),
    _s(
        "jumping_over_a_puddle",
        "activity",
        "tuck_jump running",
        "jumping over a puddle",
        "leaping off a low wall",
        "jumping into a swimming pool",
    ),
    # -- situations -----------------------------------------------------------------------
    _s(
        "pretending_to_fly",
        "situation",
        "t_pose",
        "pretending to be an aeroplane",
        "balancing on a tightrope",
        "being measured for a suit",
    ),
    _s(
        "lost_in_thought_on_a_bench",
        "situation",
        "sitting_chair thinking",
        "waiting for a job interview",
        "listening to a lecture",
        "sitting on a park bench",
    ),
    _s(
        "sneaking_past_a_guard",
        "situation",
        "crouching squatting",
        "sneaking past a sleeping guard",
        "creeping up on a friend to surprise them",
        "hiding behind a car",
    ),
    _s(
        "campfire",
        "situation",
        "sitting_cross_legged sitting_hugging_knees",
        "sitting around a campfire",
        "listening to a story at a kindergarten",
        "having a picnic on the grass",
    ),
    _s(
        "stranded_on_an_island",
        "situation",
        "waving cheering",
        "stranded on an island and signalling to a plane",
        "calling for help from a rooftop",
        "trying to get the lifeguard's attention",
    ),
    _s(
        "in_a_crowded_lift",
        "situation",
        "standing_attention standing_relaxed",
        "in a crowded lift",
        "standing still for a passport photo",
        "waiting for the doors of a train to open",
    ),
    _s(
        "window_shopping",
        "situation",
        "standing_relaxed walking",
        "looking at shop windows",
        "chatting at a party",
        "listening to a street musician",
    ),
    _s(
        "reaching_a_door_handle",
        "situation",
        "reaching_forward pushing",
        "opening a heavy door",
        "ringing a doorbell",
        "pressing the button at a pedestrian crossing",
    ),
    _s(
        "painting_a_ceiling",
        "situation",
        "reaching_up overhead_stretch",
        "painting a ceiling",
        "hanging washing on a high line",
        "trying to touch the top of a door frame",
    ),
    _s(
        "lying_in_wait",
        "situation",
        "lying_on_front",
        "reading a book lying on {poss} stomach",
        "watching ants in the grass",
        "lying in wait in the grass like a sniper",
    ),
)

#: Subjects of the queries: (noun phrase, pronoun, possessive).
SUBJECTS: tuple[tuple[str, str, str], ...] = (
    ("this man", "he", "his"),
    ("this woman", "she", "her"),
    ("this person", "they", "their"),
    ("a man", "he", "his"),
    ("a woman", "she", "her"),
    ("a boy", "he", "his"),
    ("a girl", "she", "her"),
    ("this guy", "he", "his"),
    ("an old lady", "she", "her"),
    ("my friend", "they", "their"),
)
#: The subject of templates that name none ("someone ...").
NEUTRAL = ("someone", "they", "their")

QUERY_TEMPLATES: tuple[str, ...] = (
    "{Who} is {situation}, what pose might {pron} be in?",
    "What would someone {situation} look like? Give the SMPL pose.",
    "Imagine a person {situation}. Show me their pose.",
    "{Who} is {situation}. What is {poss} body pose?",
    "Guess the pose of {who} who is {situation}.",
    "How would {who} who is {situation} hold {poss} body?",
    "Show me the SMPL pose of someone {situation}.",
    "Picture {who} {situation}. What pose would {pron} take?",
    "If {who} were {situation}, what pose would {pron} be in?",
    "Predict the body pose of a person {situation}.",
    "Generate a plausible pose for someone {situation}.",
    "{Who} is {situation}. Give me {poss} SMPL pose.",
    "I'm writing a story where {who} is {situation}. What pose fits?",
    "Pose a 3D avatar like someone {situation}.",
    "Someone is {situation}. What does their body look like?",
    "Describe, as an SMPL pose, {who} who is {situation}.",
    "Could you show how a person {situation} would be posed?",
    "Make the body look like someone {situation}.",
    "What's the typical pose of someone {situation}?",
    "{Who} is {situation}. Output the SMPL pose you would expect.",
    "For an animation I need {who} {situation}. What pose should I use?",
    "Speculate: how is a person {situation} positioned?",
    "Give the pose of {who} {situation}.",
    "Think about {who} who is {situation}. What pose would {pron} most likely be in?",
    "Estimate the pose of a person who is {situation}, as SMPL parameters.",
    "Suppose {who} is {situation}. Show the pose.",
    "You see {who} {situation}. What does {poss} pose look like in 3D?",
    "Body language check: {who} is {situation}. Which pose?",
    "Create a 3D pose of somebody {situation}.",
    "How might someone look while {situation}?",
    "{Who} is {situation}. Can you predict the pose?",
    "What posture would you expect from {who} {situation}?",
)

#: The larger world: situations from the data table `world/situations.yaml`.
SITUATIONS = SITUATIONS + load_world_situations(Situation)


def check_lexicon(situations: tuple[Situation, ...] = SITUATIONS) -> None:
    """Raise InvalidInputError unless names are unique, kinds known, every family exists and
    every situation has at least two phrasings (one is held out)."""
    names = [s.name for s in situations]
    if len(set(names)) != len(names):
        raise InvalidInputError("situation names must be unique")
    for s in situations:
        unknown = [f for f in s.families if f not in FAMILY_INFO]
        if unknown or not s.families:
            raise InvalidInputError(f"situation {s.name!r} names unknown families {unknown}")
        if s.kind not in KINDS:
            raise InvalidInputError(f"situation {s.name!r} has unknown kind {s.kind!r}")
        if len(set(s.phrasings)) < 2:
            raise InvalidInputError(f"situation {s.name!r} needs at least two phrasings")


check_lexicon()


@dataclass(frozen=True)
class SpgSplit:
    """What one split may ask: its situations, templates and phrasings per situation."""

    name: str
    situations: tuple[Situation, ...]
    templates: tuple[str, ...]
    phrasings: dict[str, tuple[str, ...]]


@cache
def spg_split(seed: int = 0) -> dict[str, SpgSplit]:
    """The SPG splits "train", "val", "test" and "test_seen" (see the module docstring)."""
    groups = split_items(tuple(dict.fromkeys(s.group for s in SITUATIONS)), seed, "spg/situations")
    situations = {
        split: tuple(s for s in SITUATIONS if s.group in set(chosen))
        for split, chosen in groups.items()
    }
    templates = split_items(QUERY_TEMPLATES, seed, "spg/templates")
    held_out = {
        s.name: split_items(
            s.phrasings, seed, f"spg/phrasings/{s.name}", {"train": 0.75, "held_out": 0.25}
        )
        for s in SITUATIONS
    }

    def make(name: str, pool: str, template_split: str, phrasing_split: str | None) -> SpgSplit:
        chosen = situations[pool]
        phrasings = {
            s.name: held_out[s.name][phrasing_split] if phrasing_split else s.phrasings
            for s in chosen
        }
        return SpgSplit(name, chosen, templates[template_split], phrasings)

    return {
        "train": make("train", "train", "train", "train"),
        "val": make("val", "val", "val", None),
        "test": make("test", "test", "test", None),
        "test_seen": make("test_seen", "train", "test", "held_out"),
    }


def speculative_query(situation: Situation, rng: np.random.Generator, split: SpgSplit) -> str:
    """A question asking for the pose of someone in `situation`, worded as `split` allows."""
    if situation.name not in split.phrasings:
        raise InvalidInputError(f"situation {situation.name!r} is not in the {split.name} split")
    template = pick(split.templates, rng)
    named = "{who}" in template.lower()
    who, pron, poss = SUBJECTS[int(rng.integers(len(SUBJECTS)))] if named else NEUTRAL
    phrasing = pick(split.phrasings[situation.name], rng).format(poss=poss)
    return template.format(
        who=who, Who=who[0].upper() + who[1:], pron=pron, poss=poss, situation=phrasing
    )


def speculative_conversation(
    situation: Situation,
    behaviour: str,
    rotmat: torch.Tensor,
    rng: np.random.Generator,
    split: SpgSplit,
    meta: dict | None = None,
) -> Conversation:
    """A situation ("proposing marriage") -> a guess of the pose (`behaviour`, a phrase of the
    pose's family: "kneeling on the left knee") and the pose."""
    question = speculative_query(situation, rng, split)
    answer = pick(SPECULATIVE_ANSWERS, rng).format(behaviour=behaviour, answer=pose_answer(rng))
    info = {"situation": situation.name, "split": split.name, **(meta or {})}
    return one_turn(question, answer, rotmat, "speculative", None, info)


def known_situations(seed: int) -> KnownSituations:
    """What a model trained on data of synth seed `seed` learned of SPG
    (`posegpt.model.situations`): its train situations' train phrasings, the words of its train
    templates and of the subjects, the speculative answers' openers and every family's
    phrase."""
    train = spg_split(seed)["train"]
    known = [p.format(poss="their") for s in train.situations for p in train.phrasings[s.name]]
    template_words = " ".join(re.sub(r"\{\w+\}", " ", t) for t in train.templates).lower()
    subjects = " ".join(part for subject in (*SUBJECTS, NEUTRAL) for part in subject)
    words = {*_WORD.findall(template_words), *subjects.split(), "somebody", "people"}
    openers = [answer.split("{")[0].strip() for answer in SPECULATIVE_ANSWERS]
    families = {name: family.phrase for name, family in FAMILY_INFO.items()}
    return KnownSituations(families, tuple(known), frozenset(words), tuple(openers))

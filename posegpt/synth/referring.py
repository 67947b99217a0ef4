"""Referring expressions: descriptions that single out one person among the people of an image.

A description is a set of features of the person (noun, shape words, clothes, position,
behaviour, pose). Each kind of description starts from its own base features and adds
distinguishing ones (position, colours, ...) only while another person in the image still fits
every feature used; a person who cannot be singled out this way gets no descriptions (the scene
is then resampled). People are given as attribute dicts with the keys:

  noun ("man", "woman", "boy", "girl"), age_group ("child", "adult", "elderly"),
  height ("tall", "short", None), build ("slim", "heavy-set", "muscular", None),
  hair (colour or None for bald), top, top_garment, bottom, bottom_garment, shoes,
  position (a `HORIZONTAL_WORDS` entry or None), depth ("in the front", "in the back", None),
  near_door (bool), behaviour (a verb phrase, "waving"), pose (a pose caption, a sentence).

A behaviour or pose description also fits anyone whose pose is similar (`similar`, given by
the caller): a caption of one pose may well be true of a similar one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

DESCRIPTION_KINDS = ("behaviour", "outfit", "pose", "shape", "summary")

#: Position words by number of people, left to right in the image (the viewer's left).
HORIZONTAL_WORDS = {
    2: ("on the left", "on the right"),
    3: ("on the left", "in the middle", "on the right"),
    4: ("on the far left", "second from the left", "second from the right", "on the far right"),
}
#: Smallest gap between box centres (fraction of the image width) for left/right words, and
#: smallest difference in distance to the camera (metres) for front/back words.
MIN_HORIZONTAL_GAP, MIN_DEPTH_GAP = 0.08, 0.8

Attributes = dict

#: Feature name -> the person's value for it; None when it cannot describe that person.
FEATURES: dict[str, Callable[[Attributes], object]] = {
    "noun": lambda a: a["noun"],
    "age": lambda a: "elderly" if a["age_group"] == "elderly" else None,
    "height": lambda a: a["height"],
    "build": lambda a: a["build"],
    "hair": lambda a: a["hair"] or "bald",
    "top": lambda a: (a["top"], a["top_garment"]),
    "bottom": lambda a: (a["bottom"], a["bottom_garment"]),
    "shoes": lambda a: a["shoes"],
    "position": lambda a: a["position"],
    "depth": lambda a: a["depth"],
    "door": lambda a: "near the door" if a["near_door"] else None,
    "behaviour": lambda a: a["behaviour"],
    "pose": lambda a: a["pose"],
}
#: Features that also fit another person whose pose is similar.
POSE_FEATURES = ("behaviour", "pose")
_WHERE = ("position", "depth", "door")
#: Per kind: features always used (when they apply) and distinguishing ones, in order of use.
_PLANS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "behaviour": (("behaviour",), ("noun", *_WHERE, "top", "bottom", "hair")),
    "outfit": (("noun", "top"), ("bottom", "shoes", "hair", *_WHERE)),
    "pose": (("pose",), ("noun", *_WHERE, "top", "bottom")),
    "shape": (("height", "build", "age", "noun"), ("hair", *_WHERE, "top", "bottom")),
    "summary": (
        ("height", "noun", "top", "position", "behaviour"),
        ("depth", "door", "bottom", "build", "hair", "shoes"),
    ),
}


def position_words(
    centers_x: Sequence[float], distances: Sequence[float], width: int
) -> list[tuple[str | None, str | None]]:
    """(horizontal, depth) words per person from box centres (pixels) and camera distances;
    a word is given only where the person is clearly apart from the others."""
    n = len(centers_x)
    words: list[tuple[str | None, str | None]] = [(None, None)] * n
    if n < 2:
        return words
    order = np.argsort(centers_x)
    xs = np.asarray(centers_x, dtype=float)[order] / width
    gaps = np.diff(xs)
    distances = np.asarray(distances, dtype=float)
    for rank, i in enumerate(order):
        apart = (rank == 0 or gaps[rank - 1] >= MIN_HORIZONTAL_GAP) and (
            rank == n - 1 or gaps[rank] >= MIN_HORIZONTAL_GAP
        )
        others = np.delete(distances, i)
        depth = None
        if distances[i] <= others.min() - MIN_DEPTH_GAP:
            depth = "in the front"
        elif distances[i] >= others.max() + MIN_DEPTH_GAP:
            depth = "in the back"
        words[i] = (HORIZONTAL_WORDS[n][rank] if apart and n in HORIZONTAL_WORDS else None, depth)
    return words


def fits(
    people: Sequence[Attributes],
    similar: np.ndarray,
    person: int,
    target: int,
    features: Sequence[str],
) -> bool:
    """Whether a description of `people[target]` made of `features` also fits `people[person]`:
    the same words, or for behaviour and pose, alike poses (`similar[person, target]`)."""
    return all(
        FEATURES[f](people[person]) == FEATURES[f](people[target])
        or (f in POSE_FEATURES and similar[person, target])
        for f in features
    )


def choose_features(
    people: Sequence[Attributes],
    similar: np.ndarray,
    index: int,
    kind: str,
    rng: np.random.Generator,
) -> list[str] | None:
    """The features of a `kind` description of person `index` that no one else fits, or None."""
    base, extras = _PLANS[kind]
    if kind == "behaviour" and rng.random() < 0.5:
        base = ("noun", *base)
    if kind == "outfit" and rng.random() < 0.7:
        base = (*base, "bottom")
    if kind == "summary" and people[index]["near_door"] and rng.random() < 0.5:
        base = tuple("door" if f == "position" else f for f in base)
    chosen = [f for f in base if FEATURES[f](people[index]) is not None]
    rivals = [
        j for j in range(len(people)) if j != index and fits(people, similar, j, index, chosen)
    ]
    for feature in extras:
        if not rivals:
            break
        if feature in chosen or FEATURES[feature](people[index]) is None:
            continue
        remaining = [j for j in rivals if fits(people, similar, j, index, [feature])]
        if len(remaining) < len(rivals):
            chosen.append(feature)
            rivals = remaining
    return None if rivals else chosen


def phrase(a: Attributes, features: Sequence[str]) -> str:
    """The English noun phrase for person `a` described by `features`."""
    use = set(features)
    words = [", ".join(a[f] for f in ("height", "build") if f in use)]
    words += ["elderly" if "age" in use else "", "bald" if "hair" in use and not a["hair"] else ""]
    words.append(a["noun"] if "noun" in use else "person")
    head = "the " + " ".join(w for w in words if w)
    tail = ""
    clothes = [f"{a[f]} {a[f + '_garment']}" for f in ("top", "bottom") if f in use]
    if clothes:
        tail += " in the " + " and ".join(clothes)
    extras = []
    if "hair" in use and a["hair"]:
        extras.append(f"{a['hair']} hair")
    if "shoes" in use:
        extras.append(f"{a['shoes']} shoes")
    if extras:
        tail += " with " + " and ".join(extras)
    tail += "".join(" " + FEATURES[f](a) for f in _WHERE if f in use)
    text = head + tail
    if "behaviour" in use:
        text += (", who is " if tail else " who is ") + a["behaviour"]
    if "pose" in use:
        text += " in this pose: " + a["pose"]
    return text


def describe_absent(
    people: Sequence[Attributes],
    decoy: Attributes,
    similar: Sequence[bool],
    rng: np.random.Generator,
) -> str | None:
    """A description of `decoy`, someone not in the picture, by what they are doing (sometimes
    with their noun and top), that fits none of `people`; None when it would fit one of them.
    `similar[i]`: whether person i's pose is alike the decoy's."""
    if any(similar) or any(p["behaviour"] == decoy["behaviour"] for p in people):
        return None
    features = ["noun"] * (rng.random() < 0.5) + ["top"] * (rng.random() < 0.3) + ["behaviour"]
    return phrase(decoy, features)


def describe_people(
    people: Sequence[Attributes], rng: np.random.Generator, similar: np.ndarray | None = None
) -> list[dict[str, str]] | None:
    """For each person, one description per `DESCRIPTION_KINDS` kind that fits only them; None
    if some person cannot be singled out (or two descriptions read the same). `similar`: (N, N)
    bool, whose poses are alike (default: those with the same behaviour)."""
    if similar is None:
        similar = np.array([[a["behaviour"] == b["behaviour"] for b in people] for a in people])
    descriptions: list[dict[str, str]] = [{} for _ in people]
    for kind in DESCRIPTION_KINDS:
        for i, person in enumerate(people):
            features = choose_features(people, similar, i, kind, rng)
            if features is None:
                return None
            descriptions[i][kind] = phrase(person, features)
        if len({d[kind] for d in descriptions}) < len(people):
            return None
    return descriptions

"""Write `posegpt/synth/world/words.yaml`: everyday nouns and place names from WordNet 3.0, the
slot values of the off-topic questions in `world/talk.yaml` ("Where can I buy a {thing}?").

Needs Debian's `wordnet-base` (read through `posegpt.eval.text_metrics.load_wordnet`); the
synthetic engine reads only the written table. Each kind keeps its most frequent single-word
lemmas (WordNet's tag counts), leaving out words that name people, body parts or places inside
a body ("head", "man", "left").

    python tools/wordnet_words.py
"""

from __future__ import annotations

import sys

import yaml

from posegpt.eval.text_metrics import load_wordnet
from posegpt.synth.everyday import WORDS_FILE

#: kind -> (WordNet lexicographer file, how many of its most frequent lemmas).
NOUNS = {
    "thing": ("noun.artifact", 150),
    "food": ("noun.food", 80),
    "animal": ("noun.animal", 60),
    "plant": ("noun.plant", 30),
    "nature": ("noun.object", 50),
}
#: Frequent lemmas that are not everyday things of their kind.
LEFT_OUT = frozenset((
    "man", "female", "head", "queen", "young", "game", "wing", "egg", "male", "adult", "work",
    "cell", "anode", "product", "system", "art", "surface", "equipment", "section", "need",
    "requirement", "agent", "part", "particle", "world", "earth", "land", "way", "side", "end",
    "direction", "source", "position", "right", "left", "top", "point", "front", "center", "edge",
    "spot", "feed", "diet", "ration", "hay", "livestock", "cattle", "stock", "hen", "buckskin",
    "andrena", "pseudophloem", "xylem", "catkin", "bough", "stump", "treetop", "blade", "bark",
    "bud", "foliage", "crop", "stick", "root", "stem", "seed", "pollen", "branch", "leaf",
    "liquor", "whisky", "whiskey", "champagne", "gun", "rifle", "weapon", "bomb", "bullet", "drug",
    "opium", "pistol", "cigarette", "ammunition", "arms", "cannon", "shot", "mine", "manifold",
    "transducer", "aerator", "subsection", "total", "subject", "means", "element", "structure",
    "facility", "holder", "piece", "item", "record", "figure", "block", "tube", "back", "corner",
    "thing", "device", "apparatus", "instrument", "machinery", "shelter", "dwelling", "recording",
    "collage", "sketch", "plug", "disc", "column", "bar", "cloth", "fabric", "hoof", "algae",
    "beef", "feather", "giant", "larva", "host", "mount", "parasite", "virus", "worker",
    "bacteria", "charger", "horn", "knee", "foot", "human", "cows", "oxen", "bronc", "insect",
    "mammal", "hardtack", "lobscuse", "premix", "swallow", "draught", "sustenance", "bitters",
    "applejack", "booze", "bourbon", "brandy", "sherry", "martini", "alcohol", "mixture",
    "produce", "bird", "bite", "blowfish", "slice", "dish", "dough", "flour", "salt", "beverage",
    "drink", "meal", "taffy", "verbena", "burr", "bulb", "harvest", "needle", "trunk", "brier",
    "bramble", "electron", "micelle", "ion", "dipole", "meteorite", "sheet", "strip", "fragment",
    "necessity", "mass", "adjunct", "body", "bank", "wall", "hole", "bubble", "ribbon", "track",
    "nature", "ground", "blue", "line", "load", "cathode", "cud", "chuck", "grub", "skin",
    "carcass", "tail", "claw", "scale", "course", "draw", "bit", "dregs", "variable", "opening",
    "concentrate", "missile", "bomber", "musket", "artillery", "sword", "etcetera", "cure",
    "layer", "image", "pegboard", "area", "loblolly", "lobscouse", "hardbake", "java", "daiquiri",
    "citron", "delicacy", "haunch", "drone", "clamshell", "chain", "depression", "trough", "pit",
    "sod", "spore", "sloe", "snowball", "balsam", "gelding", "hide", "horseback", "marrowbone",
    "mess", "morsel", "nourishment", "pemmican", "lather", "volume", "formation", "nucleus",
    "pasture"
))  # fmt: skip
#: Words that are also body poses or actions people ask to see.
POSE_WORDS = frozenset(["bridge", "plank", "split", "splits", "squat", "bow", "cross", "star"])
HEADER = """\
# Slot values of the off-topic questions in talk.yaml ("Where can I buy a {thing}?"): everyday
# nouns and city names, written by tools/wordnet_words.py from WordNet 3.0 (Princeton
# University, https://wordnet.princeton.edu; its licence allows use, copying and distribution
# with this notice: WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
# THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
# REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED). Extend by hand or regenerate.
"""


def frequent_nouns(wordnet, lexname: str, count: int) -> list[str]:
    """The `count` most frequent lowercase single-word lemmas of `lexname`'s noun synsets."""
    freq: dict[str, int] = {}
    for synset in wordnet.all_synsets("n"):
        if synset.lexname() != lexname:
            continue
        for lemma in synset.lemmas():
            name = lemma.name()
            if name.isalpha() and name.islower() and 3 <= len(name) <= 12:
                freq[name] = max(freq.get(name, 0), lemma.count())
    kept = [n for n in freq if n not in LEFT_OUT and n not in POSE_WORDS]
    return sorted(kept, key=lambda n: (-freq[n], n))[:count]


def cities(wordnet, count: int = 120) -> list[str]:
    """Names of cities (WordNet instances of 'city' and its kinds), the most linked first; a
    name several places share ("Portland") counts with its least linked place, whatever order
    WordNet's closure visits them in."""
    found: dict[str, int] = {}
    city = wordnet.synset("city.n.01")
    for kind in [city, *city.closure(lambda s: s.hyponyms())]:
        for instance in kind.instance_hyponyms():
            name = instance.lemmas()[0].name().replace("_", " ")
            if name.replace(" ", "").isalpha() and name[0].isupper() and "capital" not in name:
                links = len(instance.part_holonyms()) + len(instance.instance_hypernyms())
                found[name] = min(found.get(name, links), links)
    return sorted(found, key=lambda n: (-found[n], n))[:count]


def main() -> int:
    wordnet = load_wordnet()
    if wordnet is None:
        print("WordNet not found: apt-get install wordnet-base", file=sys.stderr)
        return 1
    table = {kind: frequent_nouns(wordnet, lex, n) for kind, (lex, n) in NOUNS.items()}
    table["city"] = cities(wordnet)
    text = yaml.safe_dump(table, default_flow_style=None, width=100, sort_keys=False)
    WORDS_FILE.write_text(HEADER + text, encoding="utf-8")
    print(f"wrote {WORDS_FILE}: " + ", ".join(f"{len(v)} {k}" for k, v in table.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

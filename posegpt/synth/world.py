"""The larger world: pose families and speculative situations, read from the data tables
`world/families.yaml` and `world/situations.yaml`.

Composed families join a posture (legs, torso, root: "sitting on a chair") with an action (arms
and head: "reading a book"), named `<posture>_<action>`; whole families are written out. Each
family also has imperatives for everyday requests ("sit on a chair and read a book") and
`checks`: predicates (`posegpt.eval.predicates` grammar) its samples satisfy, tested like the
hand-written families' joint limits and self-intersection (on most samples: the noise on every
joint pushes a few past a check's edge).

The table is read once by `posegpt.synth.pose_families` (which passes its `Family` class and the
hand-written families in, so that this module never imports it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from posegpt.errors import InvalidInputError

WORLD_DIR = Path(__file__).with_name("world")
FAMILIES_FILE = WORLD_DIR / "families.yaml"
SITUATIONS_FILE = WORLD_DIR / "situations.yaml"
#: Template keys an action sets (arms and head); a posture sets the others.
ARM_PARTS = ("collar", "shoulder", "elbow", "wrist", "hand", "neck", "head")


@dataclass(frozen=True)
class WorldFamilies:
    """Families built from the table, and per family name its imperatives and checks."""

    families: tuple[Any, ...]
    imperatives: dict[str, tuple[str, ...]]
    checks: dict[str, tuple[str, ...]]


def is_arm_key(key: str) -> bool:
    """Whether a template key belongs to the arms and head ("left_elbow", "neck", ...)."""
    return key.removeprefix("left_").removeprefix("right_") in ARM_PARTS


def load_world_families(
    make: Callable[..., Any], base: Mapping[str, Any], path: Path = FAMILIES_FILE
) -> WorldFamilies:
    """The table's families, made with `make` (the `Family` class); `base`: the hand-written
    families by name (actions may take their arms from one)."""
    table = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    built: list[Any] = []
    imperatives: dict[str, tuple[str, ...]] = {}
    checks: dict[str, tuple[str, ...]] = {}

    def add(family: Any, says: list[str], checked: list[str]) -> None:
        if family.name in base or family.name in imperatives:
            raise InvalidInputError(f"{path}: family {family.name!r} is defined twice")
        if not says:
            raise InvalidInputError(f"{path}: family {family.name!r} needs an imperative")
        if family.side is not None and "{side}" not in (family.sided_phrase or ""):
            raise InvalidInputError(f"{path}: sided family {family.name!r} needs a sided phrase")
        if family.side is None and any("{side}" in s for s in says):
            raise InvalidInputError(f"{path}: {family.name!r} names a side but has none")
        try:
            [s.format(side="left") for s in [*says, family.describe("left")]]
        except (KeyError, IndexError) as err:
            raise InvalidInputError(f"{path}: {family.name!r}: unknown field {err}") from err
        built.append(family)
        imperatives[family.name] = tuple(says)
        checks[family.name] = tuple(checked)

    postures = table.get("postures", {})
    for action_name, action in table.get("actions", {}).items():
        source = base.get(action["from"]) if "from" in action else None
        if "from" in action and source is None:
            raise InvalidInputError(f"{path}: action {action_name!r}: no family {action['from']!r}")
        arms = (
            {k: v for k, v in source.joints.items() if is_arm_key(k)}
            if source is not None
            else _joints(action["joints"], path, action_name)
        )
        side = action.get("side", source.side if source is not None else None)
        group = action.get("group", source.group if source is not None else None)
        for posture_name in action["postures"]:
            posture = postures.get(posture_name)
            if posture is None:
                raise InvalidInputError(f"{path}: {action_name!r}: no posture {posture_name!r}")
            legs = _joints(posture["joints"], path, posture_name)
            gerund = posture["gerund"]
            family = make(
                name=f"{posture_name}_{action_name}",
                phrase=f"{gerund}, {action['gerund']}",
                group=group or posture["group"],
                parts=("arms", "legs"),
                joints={**legs, **arms},
                root=_angles(posture.get("root", [0, 0, 0]), path, posture_name),
                variables=dict(source.variables) if source is not None else {},
                side=side,
                sided_phrase=f"{gerund}, {action['sided']}" if side and "sided" in action else None,
            )
            # every posture wording with every action wording, and each action "while" posed
            says = [f"{p} and {a}" for p in posture["imperative"] for a in action["imperative"]] + [
                f"{a} while {gerund}" for a in action["imperative"]
            ]
            add(family, says, [*posture.get("checks", []), *action.get("checks", [])])
    for entry in table.get("families", []):
        family = make(
            name=entry["name"],
            phrase=entry["phrase"],
            group=entry["group"],
            parts=("arms", "legs"),
            joints=_joints(entry["joints"], path, entry["name"]),
            root=_angles(entry.get("root", [0, 0, 0]), path, entry["name"]),
            side=entry.get("side"),
            sided_phrase=entry.get("sided"),
        )
        add(family, list(entry["imperative"]), list(entry.get("checks", [])))
    return WorldFamilies(tuple(built), imperatives, checks)


def _joints(spec: Mapping[str, Any], path: Path, name: str) -> dict[str, tuple]:
    return {key: _angles(value, path, name) for key, value in spec.items()}


def _angles(value: Any, path: Path, name: str) -> tuple:
    """Three angles, each a number or a [lo, hi] range."""
    if not isinstance(value, list) or len(value) != 3:
        raise InvalidInputError(f"{path}: {name!r}: angles must be three values, got {value!r}")
    out = []
    for angle in value:
        if isinstance(angle, list) and len(angle) == 2:
            out.append((float(angle[0]), float(angle[1])))
        elif isinstance(angle, int | float):
            out.append(float(angle))
        else:
            raise InvalidInputError(f"{path}: {name!r}: bad angle {angle!r}")
    return tuple(out)


def load_world_situations(make: Callable[..., Any], path: Path = SITUATIONS_FILE) -> tuple:
    """The table's situations, made with `make` (the `Situation` class): each activity, and
    each activity in each of its settings (phrasings joined, `base` = the activity)."""
    table = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    settings, everywhere = table["settings"], table.get("everywhere", [])
    out = []
    for row in table["activities"]:
        if len(row) != 5:
            raise InvalidInputError(f"{path}: activity rows have five fields, got {row!r}")
        name, kind, families, phrasings, places = row
        families = tuple(families.split())
        out.append(make(name, kind, families, tuple(phrasings)))
        for place in dict.fromkeys([*places, *everywhere]):
            if place not in settings:
                raise InvalidInputError(f"{path}: {name!r}: unknown setting {place!r}")
            joined = tuple(f"{p} {s}" for p in phrasings for s in settings[place])
            out.append(make(f"{name}_in_{place}", kind, families, joined, base=name))
    return tuple(out)

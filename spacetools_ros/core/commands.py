"""Natural-language pick-and-place commands parsed into what to pick and where it goes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .command_guard import CommandRefused, check_command

VERBS = ("put", "place", "move", "set", "drop", "transfer", "bring", "stack", "pick", "grab", "take", "lift", "get")
RELATIONS = [  # phrase -> relation (longest first when matching)
    ("to the left of", "left"), ("left of", "left"), ("to the right of", "right"), ("right of", "right"),
    ("in front of", "front"), ("behind", "behind"), ("next to", "near"), ("beside", "near"), ("near", "near"),
    ("on top of", "on"), ("onto", "on"), ("on", "on"), ("into", "in"), ("inside", "in"), ("in", "in"),
    ("between", "between"),
]


class CommandError(ValueError):
    """The command cannot be turned into a pick-and-place task."""


@dataclass(frozen=True)
class Command:
    """What to pick, the relation of the destination and its anchor object(s)."""

    text: str
    pick: str
    relation: str
    anchor: str
    anchor2: str | None = None


def parse_command(text: str) -> Command:
    """Parse "put the red block in the blue bowl", "move the can closest to the robot to the left of
    the plate", "pick up the cube and place it on the plate", "put the ball between the bowl and the can".

    Raises:
        CommandError: empty, too long, an instruction to the system, or no pick/destination found.
    """
    try:
        t = check_command(text)
    except CommandRefused as exc:
        raise CommandError(str(exc)) from None
    _refuse_what_cannot_be_checked(t)
    low = re.sub(r"[^a-z0-9 ]", " ", t.lower())
    low = " ".join(low.split())
    words = low.split()
    if not words or words[0] not in VERBS and not (words[0] == "please" and len(words) > 1 and words[1] in VERBS):
        raise CommandError("a command starts with a verb such as put, place or move")
    if words[0] == "please":
        words = words[1:]
    rest = " ".join(words[1:])
    rest = re.sub(r"^up ", "", rest)
    # "pick up X and put it in Y"
    m = re.match(r"(.+?) and (?:then )?(?:put|place|drop|set|move) (?:it|them) (.+)$", rest)
    if m:
        pick, dest = m.group(1), m.group(2)
    else:
        split = _rightmost_relation(rest)
        if split is None:
            raise CommandError("the command does not say where to place the object (e.g. 'in the bowl', 'left of the plate')")
        pick, dest = rest[: split], rest[split:]
    pick = pick.strip()
    dest = dest.strip()
    for phrase, rel in sorted(RELATIONS, key=lambda r: -len(r[0])):
        if dest.startswith(phrase + " "):
            anchor = dest[len(phrase):].strip()
            if rel == "between":
                parts = re.split(r" and ", anchor, maxsplit=1)
                if len(parts) != 2:
                    raise CommandError("'between' needs two objects: between X and Y")
                return _distinct(Command(t, _clean(pick), rel, _clean(parts[0]), _clean(parts[1])))
            if not _clean(anchor):
                break
            return _distinct(Command(t, _clean(pick), rel, _clean(anchor)))
    raise CommandError("the command does not say where to place the object")


_DISTANCE = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:m|cm|mm|in|ft|meters?|metres?|centimet(?:er|re)s?|millimet(?:er|re)s?|"
                       r"inch(?:es)?|feet|foot)\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|a|half\s+a)\s+"
                       r"(?:meters?|metres?|centimet(?:er|re)s?|millimet(?:er|re)s?|inch(?:es)?|feet|foot)\b", re.I)
_SECOND_STEP = re.compile(r"\b(?:and\s+)?then\b|;|\b(?:after\s+that|afterwards|next(?!\s+to)|also|as\s+well\s+as)\b|"
                          r"\band\s+(?:put|place|move|set|drop|transfer|bring|stack|pick|grab|take|lift|get)\s+"
                          r"(?:the|a|an|another|both|all)\b", re.I)


def _refuse_what_cannot_be_checked(t: str) -> None:
    """One pick-and-place to a place the agent can check, or a refusal up front (never half done)."""
    if _DISTANCE.search(t):
        raise CommandError("distances are not supported; say where relative to an object "
                           "(e.g. 'to the left of the bowl')")
    if _SECOND_STEP.search(t):
        raise CommandError("one pick-and-place at a time, please: the command asks for several steps")


def _distinct(cmd: Command) -> Command:
    """The object to move and its anchors must be different things."""
    refs = [cmd.pick, cmd.anchor] + ([cmd.anchor2] if cmd.anchor2 else [])
    if len(set(refs)) < len(refs):
        raise CommandError("the command names the same object twice")
    return cmd


def _clean(ref: str) -> str:
    ref = re.sub(r"^(the|a|an)\s+", "", ref.strip())
    if not ref:
        raise CommandError("an object is missing in the command")
    return ref


def _rightmost_relation(rest: str) -> int | None:
    """Where the destination phrase starts: the rightmost relation word after the object."""
    starts = [m.start() for phrase, _ in RELATIONS for m in re.finditer(rf"\b{re.escape(phrase)}\b", rest)
              if m.start() > 0]
    if not starts:
        return None
    best = max(starts)
    # step back over words that belong to a longer phrase ending here ("to the left of")
    for phrase, _ in sorted(RELATIONS, key=lambda r: -len(r[0])):
        start = rest.rfind(phrase, 0, best + len(phrase))
        if 0 < start <= best < start + len(phrase):
            return start
    return best

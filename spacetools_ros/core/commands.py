"""Natural-language pick-and-place commands parsed into what to pick and where it goes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .command_guard import CommandRefused, check_command
from .language.reference import ReferenceError
from .language.roles import ReadError, read_command
from .language.vocabulary import VERB_FORMS

VERBS = tuple(sorted(set(VERB_FORMS.values())))


class CommandError(ValueError):
    """The command cannot be turned into a pick-and-place task."""


@dataclass(frozen=True)
class Command:
    """What to pick, the relation of the destination and its anchor object(s).

    ``pick``, ``anchor`` and ``anchor2`` are object descriptions as ``parse_reference`` reads them
    (e.g. ``red block``, ``can closest to the robot``, ``second cube from the left``); ``relation`` is one
    of in, on, left, right, front, behind, near, between.
    """

    text: str
    pick: str
    relation: str
    anchor: str
    anchor2: str | None = None


def parse_command(text: str) -> Command:
    """Parse a request however it is phrased: "put the red block in the blue bowl", "could you move
    the ball to the plate, thanks", "the can should go left of the bowl", "pick up the cube and set
    it down on the green one", "put the ball between the bowl and the can".

    Every word must be known (or a noun the word-sense model maps to a shape); nothing is acted on
    from a partial reading.

    Raises:
        CommandError: empty, too long, an instruction to the system, several steps, a distance, one
            object named twice, an unknown word, or no object/destination found.
    """
    try:
        t = check_command(text)
    except CommandRefused as exc:
        raise CommandError(str(exc)) from None
    _refuse_what_cannot_be_checked(t)
    try:
        roles = read_command(t)
    except (ReadError, ReferenceError) as exc:
        raise CommandError(str(exc)) from None
    return Command(t, roles.pick, roles.relation, roles.anchor, roles.anchor2)


_DISTANCE = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:m|cm|mm|in|ft|meters?|metres?|centimet(?:er|re)s?|millimet(?:er|re)s?|"
                       r"inch(?:es)?|feet|foot)\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|a|half\s+a)\s+"
                       r"(?:meters?|metres?|centimet(?:er|re)s?|millimet(?:er|re)s?|inch(?:es)?|feet|foot)\b", re.IGNORECASE)
# (a second verb with its own object, "... and put the can ...", is found by the role reader)
_SECOND_STEP = re.compile(r"\b(?:and\s+)?then\b|;|\b(?:after\s+that|afterwards|next(?!\s+to)|also|as\s+well\s+as)\b",
                          re.IGNORECASE)


def _refuse_what_cannot_be_checked(t: str) -> None:
    """One pick-and-place to a place the agent can check, or a refusal up front (never half done)."""
    if _DISTANCE.search(t):
        raise CommandError("distances are not supported; say where relative to an object "
                           "(e.g. 'to the left of the bowl')")
    if _SECOND_STEP.search(t):
        raise CommandError("one pick-and-place at a time, please: the command asks for several steps")

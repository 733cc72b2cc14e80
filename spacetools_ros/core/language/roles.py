"""Roles in a pick-and-place request: the object mentions and relation phrases are found first, then
which mention is the thing to move and which the destination, whatever the verb, politeness or order."""

from __future__ import annotations

from dataclasses import dataclass

from .lexer import Lexeme, lex
from .reference import Reference, ReferenceError, UnknownWordError, from_lexemes, render
from .relations import PLACEMENTS, to_relation

# words that may end the mention of the object to move before its destination: "put the block back in"
_TRAILING = ("right", "back", "over", "off", "down", "up", "away", "just", "so")


class ReadError(ValueError):
    """The request cannot be read as one pick-and-place."""


class StepError(ReadError):
    """The request asks for more than one pick-and-place."""


@dataclass(frozen=True)
class Roles:
    """The object to move, the relation and its anchor(s), as plain reference text and parsed."""

    pick: str
    relation: str
    anchor: str
    anchor2: str | None
    pick_ref: Reference
    anchor_ref: Reference
    anchor2_ref: Reference | None


def read_command(text: str) -> Roles:
    """Roles of a request such as "could you put the red block in the blue bowl, thanks",
    "the ball goes on the plate", "pick up the cube and set it down left of the can".

    Raises:
        ReadError: not one pick-and-place (StepError: several), or no destination.
        ReferenceError: a mention that describes nothing known (UnknownWordError: an unknown word).
    """
    lexemes = _strip_frame([lx for lx in lex(text) if lx.kind != "ignore"])
    if not lexemes:
        raise ReadError("the command does not name an object to move")
    options = _splits(lexemes)
    if not options:
        bad = next((lx for lx in lexemes if lx.kind == "unsupported"), None)
        if bad is not None:
            raise ReadError(f"I can't place something '{bad.text}' another object; I can put it in, on, left of, "
                            "right of, in front of, behind, next to or between objects")
        _check_words(lexemes)
        if lexemes[-1].kind == "side":
            side = lexemes[-1].text
            raise ReadError(f"'{side}' of what? Say where relative to an object (e.g. '{side} of the bowl')")
        raise ReadError("the command does not say where to place the object (e.g. 'in the bowl', "
                        "'left of the plate')")
    errors: list[ReadError | ReferenceError] = []
    for pick, dest in options:
        try:
            return _assign(pick, dest)
        except (UnknownWordError, StepError):
            raise
        except (ReadError, ReferenceError) as exc:
            errors.append(exc)
    raise errors[0]  # what the most likely reading lacks


def _strip_frame(lexemes: list[Lexeme]) -> list[Lexeme]:
    """Without the politeness and framing around the request and its leading verb."""
    out = list(lexemes)
    while out and (out[0].kind in ("polite", "and") or (out[0].kind == "robot" and len(out) > 1
                                                         and out[1].kind not in ("rel", "srel"))):
        out.pop(0)
    while out and out[-1].kind in ("polite", "and"):
        out.pop()
    if out and out[0].kind == "verb":
        out.pop(0)
        while out and out[0].kind == "particle":
            out.pop(0)
    return out


def _splits(lexemes: list[Lexeme]) -> list[tuple[list[Lexeme], list[Lexeme]]]:
    """(object to move, destination) readings, the most likely first: "X and put it <dest>", then
    the rightmost relation phrase as the start of the destination."""
    for j in range(1, len(lexemes) - 1):
        if lexemes[j].kind == "verb":
            if lexemes[j + 1].kind != "pronoun":
                if lexemes[j - 1].kind == "and" or lexemes[j + 1].kind == "det":  # "... and put the can ..."
                    raise StepError("one pick-and-place at a time, please: the command asks for several steps")
                continue
            pick = lexemes[:j]
            while pick and pick[-1].kind == "and":
                pick.pop()
            dest = lexemes[j + 2:]
            while dest and dest[0].kind in ("particle", "linker"):
                dest.pop(0)
            if not dest or dest[0].kind != "rel":
                raise ReadError("the command does not say where to place the object")
            return [(pick, dest)]
    return [(lexemes[:i], lexemes[i:]) for i in range(len(lexemes) - 1, 0, -1) if lexemes[i].kind == "rel"]


def _check_words(lexemes: list[Lexeme]) -> None:
    """Refuse an unknown word by name, even when the request has no destination."""
    try:
        from_lexemes([lx for lx in lexemes if lx.kind not in ("rel", "verb", "particle", "linker")], render(lexemes))
    except UnknownWordError:
        raise
    except ReferenceError:
        pass


def _assign(pick_lx: list[Lexeme], dest: list[Lexeme]) -> Roles:
    rel_lx, anchor_lx = dest[0], list(dest[1:])
    pick_lx = list(pick_lx)
    while pick_lx and (pick_lx[-1].kind in ("linker", "particle", "polite") or pick_lx[-1].text in _TRAILING):
        pick_lx.pop()
    while anchor_lx and anchor_lx[-1].kind in ("linker", "particle", "polite"):
        anchor_lx.pop()
    if not any(lx.kind not in ("det", "clause") for lx in anchor_lx):
        raise ReadError(f"'{rel_lx.text}' needs an object after it")
    if any(lx.kind == "and" for lx in pick_lx):
        if any(lx.kind == "rel" for lx in pick_lx):
            raise StepError("one pick-and-place at a time, please: the command asks for several steps")
        raise StepError("one object at a time, please: the command names several objects to move")
    relation = str(rel_lx.value)
    if relation == "middle":  # "in the middle of the bowl and the plate" / "... of the plate"
        relation = "between" if any(lx.kind == "and" for lx in anchor_lx) else "to"
    anchors = [anchor_lx]
    if relation == "between":
        cut = next((j for j, lx in enumerate(anchor_lx) if lx.kind == "and"), None)
        if cut is None:
            raise ReadError("'between' needs two objects: between X and Y")
        anchors = [anchor_lx[:cut], anchor_lx[cut + 1:]]
    elif any(lx.kind == "and" for lx in anchor_lx):
        raise StepError("one pick-and-place at a time, please: the command asks for several steps")
    if relation not in PLACEMENTS + ("to",):
        raise ReadError(f"I can't place something '{rel_lx.text}' another object")
    pick_ref = from_lexemes(pick_lx, render(pick_lx))
    _check_role(pick_ref, "pick")
    refs, texts = [], []
    for part in anchors:
        part = _one_anaphora(part, pick_ref)
        ref = from_lexemes(part, render(part))
        _check_role(ref, "anchor")
        refs.append(ref)
        texts.append(render(part))
    if relation == "to":
        relation = to_relation(refs[0].shape)
    meanings = [pick_ref.meaning()] + [r.meaning() for r in refs]
    if len(set(meanings)) < len(meanings):
        raise ReadError("the command names the same object twice")
    return Roles(render(pick_lx), relation, texts[0], texts[1] if len(texts) > 1 else None, pick_ref, refs[0],
                 refs[1] if len(refs) > 1 else None)


_ROLE_WORDS = {  # role -> (what a pronoun fails to say, what is missing, the error for several objects)
    "pick": ("which object to move; name it (e.g. 'the red block')", "an object to move", StepError,
             "one object at a time, please: '{}' names several objects"),
    "anchor": ("where to put the object; name the destination", "where to put the object", ReadError,
               "'{}' names several objects; say which one (e.g. 'the leftmost bowl')"),
}


def _check_role(ref: Reference, role: str) -> None:
    """The object to move / the destination is one object the words describe."""
    pronoun, missing, many_error, many = _ROLE_WORDS[role]
    if ref.pronoun:
        raise ReadError(f"'{ref.head}' does not say {pronoun}")
    if not _describes(ref):
        raise ReadError(f"the command does not name {missing}")
    if ref.plural and ref.superlative is None and ref.ordinal is None:
        raise many_error(many.format(ref.text))


def _describes(ref: Reference) -> bool:
    return bool(ref.head or ref.colors or ref.tints or ref.shape or ref.superlative or ref.ordinal)


def _one_anaphora(part: list[Lexeme], pick: Reference) -> list[Lexeme]:
    """"the green one" after "the red block" is the green block."""
    if pick.shape is None or pick.head is None or any(lx.kind == "shape" for lx in part):
        return part
    return [Lexeme(pick.head, "shape", pick.shape, False) if lx.kind == "generic" and lx.value == "one"
            and not lx.plural else lx for lx in part]

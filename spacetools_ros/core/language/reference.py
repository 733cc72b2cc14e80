"""Referring expressions ("the red block", "second cube from the left", "can nearest the bowl")
parsed into constraints; every content word must be known or a noun the word-sense model accepts."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import senses
from .lexer import Lexeme, lex
from .relations import from_relation
from .vocabulary import NEARNESS

CONTENT = ("color", "tint", "cmod", "shape", "generic", "pronoun", "size", "sup", "side", "ord", "quant", "number")
MAX_CHARS = 300
NP_START = CONTENT + ("det", "robot", "viewer", "scene", "unknown")


@dataclass(frozen=True)
class Reference:
    """A parsed referring expression.

    Attributes:
        text: the expression as given.
        colors: base colour words (as perception names colours).
        shape: box | cylinder | sphere | bowl | plate, or None for any.
        superlative: a key of ``vocabulary.SUPERLATIVE_AXES`` (e.g. ``leftmost``, ``robot_closest``).
        size: ``big`` | ``small``.
        relation: to ``anchor``: a relation of ``relations`` (placements, ``far``, ``except``).
        anchor: the object of the relation.
        plural: the expression names several objects.
        unknown: always empty (unknown words are refused); kept for callers.
        tints: off-palette colour phrases ("teal", "light blue"), matched by measured colour.
        ordinal: 1-based position in ``order`` (-1: the last).
        order: where ordinals count from: left | right | front | back (None: from the left).
        anchor2: the second anchor of ``between``.
        head: the head noun as written ("block", "one", "it"), or None.
    """

    text: str
    colors: frozenset[str] = frozenset()
    shape: str | None = None
    superlative: str | None = None
    size: str | None = None
    relation: str | None = None
    anchor: Reference | None = None
    plural: bool = False
    unknown: tuple[str, ...] = ()
    tints: frozenset[str] = frozenset()
    ordinal: int | None = None
    order: str | None = None
    anchor2: Reference | None = None
    head: str | None = None

    def meaning(self) -> tuple:
        """What the expression says, without its spelling (equal meanings name the same object)."""
        return (self.colors, self.tints, self.shape, self.superlative, self.size, self.relation, self.plural,
                self.ordinal, self.order, self.anchor.meaning() if self.anchor else None,
                self.anchor2.meaning() if self.anchor2 else None)

    @property
    def pronoun(self) -> bool:
        """The expression is only "it"/"them"."""
        return self.head in ("it", "them", "they")


class ReferenceError(ValueError):
    """The expression cannot be parsed into anything groundable."""


class UnknownWordError(ReferenceError):
    """A word of the expression is in no word class and the word-sense model does not know it.

    Attributes:
        word: the unknown word.
        phrase: the object description it stands in (None when it is not part of one).
    """

    def __init__(self, word: str, phrase: str | None, verb: bool = False) -> None:
        self.word, self.phrase = word, phrase
        if phrase:
            art = "an" if phrase[0] in "aeiou" else "a"
            super().__init__(f"I don't know what {art} '{phrase}' is")
        elif verb:
            super().__init__(f"I don't know the verb '{word}' (say e.g. put, place or move)")
        else:
            super().__init__(f"I don't know the word '{word}'")


def parse_reference(text: str) -> Reference:
    """Parse an object description.

    Raises:
        ReferenceError: empty text, a word that describes nothing known, or a malformed phrase.
    """
    if not isinstance(text, str) or len(text) > MAX_CHARS:
        raise ReferenceError(f"an object description is text of at most {MAX_CHARS} characters")
    lexemes = [lx for lx in lex(text) if lx.kind != "ignore"]
    return from_lexemes(lexemes, text)


def from_lexemes(lexemes: list[Lexeme], text: str) -> Reference:
    """The reference of lexemes (see ``parse_reference``)."""
    if not any(lx.kind not in ("det", "clause") for lx in lexemes):
        raise ReferenceError("empty object description")
    if any(lx.kind == "and" for lx in lexemes) and not any(lx.kind == "rel" and lx.value == "between"
                                                           for lx in lexemes):
        raise ReferenceError(f"'{text}' names more than one object")
    for i, lx in enumerate(lexemes):
        if i > 0 and lx.kind == "srel" and lx.value == "except":
            base = from_lexemes(lexemes[:i], text)
            if base.relation is not None:
                raise ReferenceError(f"'{text}' is too involved; describe the object more simply")
            return replace(base, relation="except", anchor=from_lexemes(lexemes[i + 1:], render(lexemes[i + 1:])))
    for i, lx in enumerate(lexemes):
        rel = _relation_at(lexemes, i)
        if rel is None:
            continue
        tail = lexemes[i + 1:]
        if not any(t.kind not in ("det", "clause") for t in tail):
            raise ReferenceError(f"'{lx.text}' needs an object after it")
        base = _simple(lexemes[:i], text)
        special = _special_anchor(tail)
        if special is not None:
            return _with_special(base, rel, special, lx.text)
        if rel == "middle":
            rel = "between" if any(t.kind == "and" for t in tail) else "from"
        if rel == "between":
            cut = next((j for j, t in enumerate(tail) if t.kind == "and"), None)
            if cut is None or cut == 0 or cut == len(tail) - 1:
                raise ReferenceError("'between' needs two objects: between X and Y")
            a, b = tail[:cut], tail[cut + 1:]
            return replace(base, relation="between", anchor=from_lexemes(a, render(a)),
                           anchor2=from_lexemes(b, render(b)))
        anchor = from_lexemes(tail, render(tail))
        if rel == "from":
            rel = from_relation(anchor.shape)
        return replace(base, relation=rel, anchor=anchor)
    return _simple(lexemes, text)


def render(lexemes: list[Lexeme]) -> str:
    """Plain text of a description: leading determiners and relative-clause words left out, "you"
    as "the robot" and "me" as "the camera"."""
    words: list[str] = []
    for lx in lexemes:
        if lx.kind in ("clause", "ignore") or (lx.kind == "det" and not words):
            continue
        if lx.kind in ("robot", "viewer") and words and words[-1] in ("the", "a"):
            words.pop()
        words.append({"robot": "the robot", "viewer": "the camera"}.get(lx.kind, lx.text))
    return " ".join(words)


def _relation_at(lexemes: list[Lexeme], i: int) -> str | None:
    """The relation that starts at lexeme ``i`` after an object, if one does."""
    if i == 0:
        return None
    lx = lexemes[i]
    if lx.kind == "rel" and lx.value != "to":
        return str(lx.value)
    if lx.kind == "srel":
        return str(lx.value)
    if (lx.kind == "sup" and lx.value in NEARNESS and i + 1 < len(lexemes) and lexemes[i + 1].kind in NP_START
            and any(p.kind in ("shape", "generic", "pronoun") for p in lexemes[:i])):
        return "near" if lx.value == "nearest" else "far"  # "the block nearest the bowl"
    return None


def _special_anchor(tail: list[Lexeme]) -> str | None:
    """``robot``, ``viewer`` or ``scene`` when the relation's object is one of them."""
    rest = [t for t in tail if t.kind not in ("det", "clause")]
    if len(rest) == 1 and rest[0].kind in ("robot", "viewer", "scene"):
        return rest[0].kind
    return None


def _with_special(base: Reference, rel: str, special: str, words: str) -> Reference:
    """"closest to the robot", "nearest to me", "on the left of the table" as superlatives."""
    table = {("robot", "near"): "robot_closest", ("robot", "far"): "robot_farthest",
             ("viewer", "near"): "nearest", ("viewer", "far"): "farthest",
             ("scene", "left"): "leftmost", ("scene", "right"): "rightmost", ("scene", "front"): "frontmost",
             ("scene", "behind"): "backmost", ("scene", "in"): None, ("scene", "on"): None}
    if (special, rel) not in table:
        what = {"robot": "the robot", "viewer": "the camera", "scene": "the table"}[special]
        raise ReferenceError(f"'{words} {what}' does not pick out an object; try 'closest to the robot'")
    sup = table[(special, rel)]
    if sup is None:
        return base
    if base.superlative not in (None, sup):
        raise ReferenceError(f"'{base.text}' asks for two extremes at once")
    return replace(base, superlative=sup)


def _simple(lexemes: list[Lexeme], text: str) -> Reference:
    """A description without relations: colours, size, superlative, ordinal and a head noun."""
    colors: set[str] = set()
    tints: set[str] = set()
    shape = head = sup = size = order = None
    ordinal = None
    plural = False
    cmod = None
    unknown: list[int] = []
    partitive = False  # "the smallest of the balls", "the second of the cubes": one of several
    for i, lx in enumerate(lexemes):
        k = lx.kind
        if k == "of":
            partitive = partitive or sup is not None or ordinal is not None or head in ("one",)
            continue
        if k in ("det", "clause", "ignore"):
            continue
        if cmod is not None and k not in ("color", "tint"):
            if cmod != "dark":
                raise ReferenceError(f"'{cmod}' needs a colour after it (e.g. '{cmod} blue')")
            colors.add("black")  # "the dark block"
            cmod = None
        if k == "cmod":
            cmod = str(lx.value)
        elif k == "color":
            (tints.add(f"{cmod} {lx.value}") if cmod else colors.add(str(lx.value)))
            cmod = None
        elif k == "tint":
            tints.add(f"{cmod} {lx.value}" if cmod else str(lx.value))
            cmod = None
        elif k == "shape":
            if shape not in (None, lx.value):
                raise ReferenceError(f"'{render(lexemes) or text}' names two kinds of object")
            shape, head, plural = str(lx.value), lx.text, lx.plural
        elif k in ("generic", "pronoun"):
            head, plural = lx.text, lx.plural
        elif k == "size":
            size = str(lx.value)
        elif k in ("sup", "side"):
            if sup not in (None, lx.value):
                raise ReferenceError(f"'{text}' asks for two extremes at once")
            sup = str(lx.value)
        elif k == "ord":
            ordinal = int(lx.value)
        elif k == "fromdir":
            order = str(lx.value)
        elif k in ("quant", "number"):
            plural = plural or lx.text not in ("1",)
        elif k == "unknown" or (k == "verb" and not any(t.kind == "det" for t in lexemes[i + 1:])):
            unknown.append(i)  # a verb here would be a noun ("the stand"): known only if it names a shape
        elif k in ("robot", "viewer"):
            raise ReferenceError(f"'{lx.text}' is not an object on the table")
        elif k == "scene":
            raise ReferenceError(f"'{lx.text}' is not an object; say where relative to an object "
                                 "(e.g. 'left of the bowl')")
        else:
            raise ReferenceError(f"'{lx.text}' does not fit in the description '{render(lexemes) or text}'")
    if cmod is not None:
        if cmod != "dark":
            raise ReferenceError(f"'{cmod}' needs a colour after it (e.g. '{cmod} blue')")
        colors.add("black")
    if order is not None and ordinal is None and sup is None:
        raise ReferenceError(f"'{text}': which one counting from the {order}?")
    for i in unknown:
        shape, head = _resolve_unknown(lexemes, i, shape, head)
    if partitive:
        plural = False
    return Reference(text, frozenset(colors), shape, sup, size, None, None, plural, (), frozenset(tints), ordinal,
                     order, None, head)


def _resolve_unknown(lexemes: list[Lexeme], i: int, shape: str | None, head: str | None) -> tuple[str | None, str | None]:
    """An unknown word as a noun (the word-sense model's shape) or a compound's modifier ("soup bowl")."""
    word = lexemes[i].text
    start = max((j for j in range(i + 1) if lexemes[j].kind == "det"), default=-1) + 1
    phrase = " ".join(lx.text for lx in lexemes[start:] if lx.kind not in ("clause", "ignore", "det"))
    if any(lx.kind == "det" for lx in lexemes[i + 1:]):
        raise UnknownWordError(word, None, verb=i == 0)  # not inside the description ("yeet the block")
    nxt = next((lx for lx in lexemes[i + 1:] if lx.kind in ("shape", "generic", "unknown")), None)
    if nxt is not None and nxt.kind == "shape":
        if senses.shape_of(f"{word} {nxt.text}", compound=True) == nxt.value:  # "tennis ball", "soup bowl"
            return shape, head
        raise UnknownWordError(word, phrase)
    if nxt is not None and nxt.kind == "unknown":
        raise UnknownWordError(word, phrase)
    meant = senses.shape_of(word)
    if meant is None:
        raise UnknownWordError(word, phrase)
    return meant, word

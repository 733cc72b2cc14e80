"""The command boundary: a person's command is checked before any policy sees it.

Refused as a whole (never carried out in part): empty or over-long text, control and invisible
format characters (ANSI escapes, zero-width and bidirectional marks), chat-template markup
(``<|im_start|>``, ``<tool_call>``, ...), and instructions addressed to the system rather than
requests to the robot ("SYSTEM: new rule ...", "ignore the previous instructions ...").
"""

from __future__ import annotations

import re
import unicodedata

from .errors import SpacetoolsError

MAX_COMMAND_CHARS = 300
MAX_RAW_CHARS = 2000  # before whitespace is collapsed
_ALLOWED_SPACE = {"\t", "\n", "\r"}
_MARKUP = re.compile(
    r"<\|[^<>]{0,64}\|>"                                            # <|im_start|>, <|endoftext|>, <|image_pad|>
    r"|</?\s*(?:tool_call|tool_response|tools|think|answer|image|img|s|system|user|assistant|function)\s*/?>"
    r"|\[/?\s*(?:INST|SYS|TOOL_CALLS?|AVAILABLE_TOOLS)\s*\]"      # other chat templates
    r"|<<\s*/?SYS\s*>>|\{\{|\}\}|\{%|%\}", re.I)
_SYSTEM = re.compile(
    r"(?:^|[\s.;:!?,(\[])(?:system|assistant|developer|admin|root)\s*(?::|>|-{2,}|\])"   # role prefixes
    r"|\b(?:ignore|disregard|forget|override|overrule|bypass|disable|turn\s+off)\b.{0,60}?"
    r"\b(?:instructions?|rules?|prompt|polic(?:y|ies)|safety|envelope|limits?|checks?|guard\w*|"
    r"everything\s+(?:above|before|else))\b"
    r"|\b(?:previous|above|prior|earlier)\s+(?:instructions?|rules?|messages?|prompts?)\b"
    r"|\bnew\s+(?:rules?|instructions?|policy|system)\b|\bsystem\s+prompt\b|\byou\s+are\s+now\b"
    r"|\bfrom\s+now\s+on\b|\bdeveloper\s+mode\b|\bjailbreak|\bpretend\s+(?:to\s+be|you)\b|\bact\s+as\b"
    r"|\bdo\s+anything\s+now\b|\bunrestricted\b|\bexecute\b|\beval\b|\bexec\b|\bimport\s+os\b|\brm\s+-rf\b"
    r"|\bsudo\b|\bshell\b|\bsubprocess\b|\bcall\s+the\s+tool\b|\brobot\.\w+|\btool_call\b"
    r"|\bmax(?:imum)?\s+speed\b|\bfull\s+speed\b|\bas\s+fast\s+as\b",
    re.I | re.S)


class CommandRefused(SpacetoolsError):
    """A command that is not a request the robot may act on; ``str()`` says why (bounded)."""


def check_command(text: object) -> str:
    """The command, whitespace collapsed, if it may reach a policy.

    Raises:
        CommandRefused: with the reason.
    """
    if not isinstance(text, str):
        raise CommandRefused(f"a command must be text, got {type(text).__name__}")
    if len(text) > MAX_RAW_CHARS:
        raise CommandRefused(f"the command is {len(text)} characters long (limit {MAX_COMMAND_CHARS})")
    for ch in text:
        cat = unicodedata.category(ch)
        if (cat in ("Cc", "Cf", "Co", "Cs", "Cn") or cat in ("Zl", "Zp")) and ch not in _ALLOWED_SPACE:
            raise CommandRefused(f"the command contains a control or invisible character (U+{ord(ch):04X})")
    t = " ".join(text.split())
    if not t:
        raise CommandRefused("the command is empty")
    if len(t) > MAX_COMMAND_CHARS:
        raise CommandRefused(f"the command is {len(t)} characters long (limit {MAX_COMMAND_CHARS})")
    if _MARKUP.search(t):
        raise CommandRefused("the command contains chat or tool markup; only plain requests are accepted")
    if _SYSTEM.search(t):
        raise CommandRefused("the command contains instructions to the system; only pick-and-place requests are accepted")
    return t

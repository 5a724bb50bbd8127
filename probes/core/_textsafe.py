"""Make outside text (smoke output, response bodies, reviewer text) safe to show on a terminal.

Anything that a terminal would interpret is replaced by a visible stand-in, so an escape
sequence in a smoke's output is shown as text and never changes the operator's terminal.
"""

from __future__ import annotations

import re

# C0 controls (except TAB and LF) become their Unicode "control picture"; DEL and the C1
# range become a visible \xNN.
_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in (0x09, 0x0A)}
_TABLE[0x7F] = "\u2421"
_TABLE.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
# Bidirectional overrides can make text display in another order than it reads.
_TABLE.update({c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})


# Every character neutralise replaces (for output that must escape them its own way, as TOML).
UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in _TABLE) + "]")


def neutralise(text: str) -> str:
    """Return text with every terminal control character made visible (CRLF kept as LF)."""
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    # A scan by the regex engine is far cheaper than translate on clean megabytes.
    return text.translate(_TABLE) if UNSAFE.search(text) else text


def decode_safe(data: bytes) -> str:
    """Decode bytes from outside (invalid UTF-8 replaced) and neutralise them."""
    return neutralise(data.decode("utf-8", errors="replace"))


def md_cell(text: str) -> str:
    """Text made safe for one cell of a Markdown table (pipes, backticks, newlines)."""
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


_TICKS = re.compile("`+")


def md_code(text: str) -> str:
    """Text as one Markdown code span whatever backticks it holds (a JSON key is text from
    outside): fenced by one backtick more than its longest run of them, and padded with a
    space where it begins or ends with one, as CommonMark reads a code span."""
    fence = "`" * (max(map(len, _TICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"

"""The secrets gauntlet knows, and the one way they are kept out of what it writes or shows.

The registry is built once, as the config loads, from the config and the environment: the
gateway key (`[scrum] api_key_env`), header values taken from the environment
(`[parity] headers = {x-token = "${TOKEN}"}`) and the userinfo of a URL (the gateway, a
parity target). Like a CI system's registered secrets, each is replaced by `***` wherever
text is recorded: `mask` for text, `mask_bytes` for bytes, `stream` for output that arrives
in chunks (a secret may straddle two), `mask_event` for an event before anyone sees it.

A secret shorter than MIN_LENGTH cannot be masked without destroying text (a one-letter key
turns `WHERE:` into `WH***R***:` and loses a review's findings), so the config refuses it.
With no secret at all every method returns its input as it is: no cost on the hot path.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_LENGTH = 8

T = TypeVar("T")


def url_secrets(url: str) -> list[str]:
    """What of a URL is secret: its whole userinfo (so `http://bob:pw@host` shows as
    `http://***@host`), its password as sent, and the Basic credentials made of them. A URL
    with a user name only holds no secret."""
    parts = urlsplit(url)
    basic = basic_credentials(url)
    if parts.password is None or basic is None:
        return []
    return [parts.netloc.rpartition("@")[0], unquote(parts.password), parts.password, basic]


def basic_credentials(url: str) -> str | None:
    """The Basic credentials a URL's userinfo stands for (`http://bob:pw@host`: base64 of
    `bob:pw`), as an HTTP client sends them; None for a URL without a user."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    return base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode()


def shown_url(url: str) -> str:
    """A URL as it may be said before any registry exists (a config problem naming it): its
    userinfo masked when it holds a password."""
    return Secrets(tuple(url_secrets(url))).mask(url)


@dataclass(frozen=True)
class Secrets:
    """The registry: the values to mask, longest first (so a whole userinfo is masked before
    the password inside it). Never shown: its repr names how many it holds, not what."""

    values: tuple[str, ...] = field(default=(), repr=False)
    _text: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _bytes: re.Pattern[bytes] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        values = tuple(sorted({v for v in self.values if v}, key=lambda v: (-len(v), v)))
        object.__setattr__(self, "values", values)
        if values:
            object.__setattr__(self, "_text", re.compile("|".join(map(re.escape, values))))
            object.__setattr__(self, "_bytes", re.compile(b"|".join(re.escape(v.encode()) for v in values)))

    def __bool__(self) -> bool:
        return bool(self.values)

    def __repr__(self) -> str:
        return f"Secrets({len(self.values)} registered)"

    def mask(self, text: str) -> str:
        return text if self._text is None else self._text.sub(MASK, text)

    def mask_bytes(self, data: bytes) -> bytes:
        return data if self._bytes is None else self._bytes.sub(MASK.encode(), data)

    def mask_event(self, event: T) -> T:
        """The event with every secret in any of its texts masked; the very same object when
        it holds none. The usual case costs a search per text and builds nothing: a parity
        case's event is looked through in about the time it takes to serialise it."""
        return event if self._text is None or not self._holds(event) else self._walk(event)

    def _holds(self, value: Any) -> bool:
        kind = type(value)
        if kind is str:
            return self._text.search(value) is not None  # type: ignore[union-attr] # mask_event checked it
        if kind is tuple:
            return any(map(self._holds, value))
        if kind is dict:
            return any(map(self._holds, value)) or any(map(self._holds, value.values()))
        return hasattr(kind, "__dataclass_fields__") and any(map(self._holds, vars(value).values()))

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            assert self._text is not None
            return self._text.sub(MASK, value)  # the same object when nothing matched
        if isinstance(value, tuple):
            items = tuple(self._walk(v) for v in value)
            return value if all(a is b for a, b in zip(items, value)) else items
        if isinstance(value, dict):
            pairs = [(self._walk(k), self._walk(v)) for k, v in value.items()]
            same = all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items()))
            return value if same else dict(pairs)
        if is_dataclass(value) and not isinstance(value, type):
            changed = {f.name: new for f in fields(value) if f.init
                       and (new := self._walk(old := getattr(value, f.name))) is not old}
            return replace(value, **changed) if changed else value
        return value

    def stream(self) -> StreamMask:
        return StreamMask(self)


class StreamMask:
    """Masks output that arrives in chunks: the end of a chunk that could be the start of a
    secret is held back until the next chunk (or `end`) says how it goes on."""

    def __init__(self, secrets: Secrets) -> None:
        self._pattern = secrets._bytes
        self._hold = max((len(v.encode()) for v in secrets.values), default=1) - 1
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        """The part of what came so far that no later chunk can change, masked."""
        if self._pattern is None:
            return data
        data = self._held + data
        safe = len(data) - self._hold  # a secret starting before it ends inside `data`
        out: list[bytes] = []
        last = 0
        for match in self._pattern.finditer(data):
            if match.start() >= safe:
                break
            out += (data[last:match.start()], MASK.encode())
            last = match.end()
        cut = max(last, safe, 0)
        out.append(data[last:cut])
        self._held = data[cut:]
        return b"".join(out)

    def end(self) -> bytes:
        """What is still held back, masked: the output is over."""
        held, self._held = self._held, b""
        return held if self._pattern is None else self._pattern.sub(MASK.encode(), held)


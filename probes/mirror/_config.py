"""`[mirror]`: shadow traffic's section of the config, read and validated.

The mirror judges with the parity probe's targets and rules (`[parity]`: the reference, the
candidates, `ignore`, `unordered`, `tolerance`, `compare_headers`, the known gaps), so this
section holds only what is the mirror's own: where it listens, what it copies, how much it
may drop, when its record rolls over.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass

from ..core import Problem, TableReader, shown_url
from ..parity import ParityConfig, valid_port

# What a mirror copies without being told: methods a candidate can answer without a side
# effect. A route opts another in (`[[mirror.route]] method = "POST" … mirror = true`).
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_LISTEN = "127.0.0.1:0"  # loopback unless stated; port 0: any free one, printed on start
QUEUE_MAX = 100_000


@dataclass(frozen=True)
class Route:
    """`[[mirror.route]]`: whether requests of `method` (or `*`, any) to `path` are copied
    to the candidates; `*` in the path matches any characters (`/v1/*`). The first route
    that matches a request decides; none: only GET, HEAD and OPTIONS are copied."""

    method: str
    path: str
    mirror: bool

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and fnmatch.fnmatchcase(path, self.path)


@dataclass(frozen=True)
class DropLimit:
    """`max_dropped`: how many copies the full queue may refuse before the mirror is
    incomplete: a count (`10`), or a share of the copies made (`"1%"`)."""

    count: int | None = None
    share: float = 0.01

    def exceeded(self, dropped: int, copies: int) -> bool:
        if self.count is not None:
            return dropped > self.count
        return copies > 0 and dropped / copies > self.share

    def __str__(self) -> str:
        return f"{self.count:,}" if self.count is not None else f"{self.share * 100:g}%"


@dataclass(frozen=True)
class MirrorConfig:
    host: str = "127.0.0.1"
    port: int = 0
    secondary: str | None = None  # a second instance of the reference: its answers teach the noise
    sample: float = 0.1  # the share of the requests that may be copied which are
    routes: tuple[Route, ...] = ()
    queue: int = 1000  # copies waiting for a candidate; one more is dropped and counted
    max_dropped: DropLimit = DropLimit()
    roll_every: float | None = None  # seconds a run directory takes requests before the next begins
    roll_mb: int | None = None  # megabytes of record after which the next run directory begins

    @property
    def listen(self) -> str:
        return join_address(self.host, self.port)

    def copied(self, method: str, path: str) -> bool:
        """Whether a request of this method to this path may be copied (before sampling)."""
        route = next((r for r in self.routes if r.matches(method, path)), None)
        return route.mirror if route is not None else method in SAFE_METHODS


_MIRROR = ("listen", "secondary", "sample", "route", "queue", "max_dropped", "roll_every", "roll_mb")
_ROUTE = ("method", "path", "mirror")


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8080` for IPv6) as (host, port); ValueError saying what is wrong."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT (127.0.0.1:8080, [::1]:8080; port 0: any free one), got {text!r}")
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"the port must be from 0 to 65535, got {port}")
    return host, int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def loopback(host: str) -> bool:
    """Whether only this machine can reach an address (`localhost` included)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mirror_section(top: TableReader, parity: ParityConfig) -> MirrorConfig | None:
    """`[mirror]`, or None when the config has none. A mirror needs what a probe needs of
    `[parity]`: the reference and at least one candidate, said at their key paths."""
    if not top.has("mirror"):
        return None
    m = top.table("mirror", _MIRROR)
    if parity.reference is None or parity.reference not in parity.targets:
        top.problems.append(Problem("parity.reference", "the mirror answers from the reference: name one of "
                                                        "[parity.targets]"))
    elif len(parity.targets) < 2:
        top.problems.append(Problem("parity.targets", "the mirror needs the reference and at least one candidate"))
    host, port = parse_listen(DEFAULT_LISTEN)
    listen = m.string("listen")
    if listen is not None:
        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            m.problem("listen", str(exc))
    secondary = m.string("secondary")
    if secondary is not None:
        secondary = secondary.rstrip("/")
        if not secondary.startswith(("http://", "https://")) or not valid_port(secondary):
            m.problem("secondary", f"expected the http(s) URL of a second instance of the reference, got "
                                   f"{shown_url(secondary)!r}")
        elif secondary in parity.targets.values():
            m.problem("secondary", "is one of [parity.targets]: a second instance of the reference is apart from them")
    return MirrorConfig(
        host=host,
        port=port,
        secondary=secondary,
        sample=m.share("sample", 0.1),
        routes=tuple(_route(r) for r in m.tables("route", _ROUTE)),
        queue=m.integer("queue", 1000, minimum=1, maximum=QUEUE_MAX) or 1000,
        max_dropped=_drop_limit(m),
        roll_every=m.duration("roll_every", 0.0) or None,
        roll_mb=m.integer("roll_mb", None, minimum=1),
    )


def _route(r: TableReader) -> Route:
    method = (r.string("method", required=True) or "*").upper()
    if method not in (*METHODS, "*"):
        r.problem("method", f"expected one of {', '.join(METHODS)} or \"*\", got {method!r}")
    path = r.string("path", required=True) or "*"
    if not path.startswith(("/", "*")):
        r.problem("path", f"a path starts with '/' (`*` matches any characters), got {path!r}")
    if not r.has("mirror"):
        r.problem("mirror", "is required: true copies these requests to the candidates, false never does")
    return Route(method, path, r.boolean("mirror", False))


def _drop_limit(m: TableReader) -> DropLimit:
    value = m.raw.get("max_dropped")
    if isinstance(value, int) and not isinstance(value, bool):
        return DropLimit(count=m.integer("max_dropped", 0, maximum=10**9))
    return DropLimit(share=m.share("max_dropped", 0.01))


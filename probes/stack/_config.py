"""`[stack]` and `[[stack.service]]`: the persistent stack's section of the config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core import TableReader, check_duplicates, check_name, resolve_path


@dataclass(frozen=True)
class StackService:
    name: str
    bin: str | None = None
    run: tuple[str, ...] | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    port: int | None = None
    health: str | None = None
    health_timeout: float = 30.0


@dataclass(frozen=True)
class StackConfig:
    output: Path | None = None
    up: bool = False
    services: tuple[StackService, ...] = ()


_STACK = ("output", "up", "service")


_SERVICE = ("name", "bin", "run", "args", "env", "port", "health", "health_timeout")


def stack_section(top: TableReader, workdir: Path) -> StackConfig:
    st = top.table("stack", _STACK)
    services: list[StackService] = []
    readers = st.tables("service", _SERVICE)
    for r in readers:
        name = r.string("name", required=True)
        check_name(r, name)
        if r.has("bin") == r.has("run"):
            r.problem(None, "needs exactly one of `bin` (a program) or `run` (a command)")
        health = r.string("health")
        if health and not health.startswith(("/", "http://", "https://")):
            r.problem("health", f"expected a path like '/health' or a URL, got {health!r}")
        if health and health.startswith("/") and not r.has("port"):
            r.problem("port", "is required when `health` is a path")
        services.append(StackService(
            name=name or f"<{r.path}>",
            bin=r.string("bin"),
            run=r.argv("run"),
            args=r.string_list("args"),
            env=r.string_map("env"),
            port=r.integer("port", None, minimum=1, maximum=65535),
            health=health,
            health_timeout=r.duration("health_timeout", 30.0),
        ))
    check_duplicates(readers, [s.name for s in services], "service")
    ports: dict[int, str] = {}
    for r, svc in zip(readers, services):
        if svc.port is not None:
            if svc.port in ports:
                r.problem("port", f"{svc.port} is also the port of {ports[svc.port]!r}")
            ports.setdefault(svc.port, svc.name)
    output = st.string("output")
    return StackConfig(
        output=resolve_path(workdir, output) if output else None,
        up=st.boolean("up", False),
        services=tuple(services),
    )

"""The persistent stack: the TOML that operators bring the stack up with.

Every run writes `stack.toml` in its run directory and merges its services into
`[stack] output`. The merge never clobbers: services and keys already there are kept,
the old file is kept as `.bak`, the new one replaces it in one step, and a lock makes two
writers at once land both. `check` says per service whether it can start and whether it
answers; `up` starts each in its own process group and waits for its health check.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import tomli_w

from ..core import GauntletError, InputError, Secrets, locked, procs, write_atomic
from ._config import StackConfig, StackService

HEALTH_POLL = 0.1  # seconds between health probes while a service comes up


def service_entry(service: StackService, workdir: Path) -> dict[str, Any]:
    """One service as the stack file records it: absolute paths, a full health URL."""
    entry: dict[str, Any] = {}
    if service.bin is not None:
        path = Path(service.bin)
        entry["bin"] = str(path if path.is_absolute() else workdir / path)
    if service.run is not None:
        entry["run"] = list(service.run)
    if service.args:
        entry["args"] = list(service.args)
    entry["cwd"] = str(workdir)
    if service.env:
        entry["env"] = dict(service.env)
    if service.port is not None:
        entry["port"] = service.port
    if service.health:
        entry["health"] = (service.health if service.health.startswith("http")
                           else f"http://127.0.0.1:{service.port}{service.health}")
    entry["health_timeout_s"] = service.health_timeout
    return entry


def stack_document(config: StackConfig, workdir: Path, source: str) -> dict[str, Any]:
    return {
        "updated_by": source,
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "services": {s.name: service_entry(s, workdir) for s in config.services},
    }


def read_stack(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid stack file ({exc}); fix or move it, nothing was written") from None


def merge(existing: Mapping[str, Any], ours: Mapping[str, Any]) -> dict[str, Any]:
    """Ours over theirs, key by key: their other services and their other keys stay."""
    merged = dict(existing)
    for key, value in ours.items():
        if key == "services":
            services = dict(existing.get("services") or {})
            for name, entry in value.items():
                services[name] = {**(services.get(name) or {}), **entry}
            merged["services"] = services
        else:
            merged[key] = value
    return merged


def write_merged(path: Path, ours: Mapping[str, Any]) -> dict[str, Any]:
    """Merge `ours` into the stack file at `path` under a lock; keep the old one as .bak."""
    with locked(path):
        existing = read_stack(path)
        if path.exists():
            write_atomic(path.with_name(path.name + ".bak"), path.read_bytes(), durable=True)
        merged = merge(existing, ours)
        write_atomic(path, tomli_w.dumps(merged), durable=True)
    return merged


@dataclass(frozen=True)
class ServiceCheck:
    name: str
    program: str
    runnable: bool
    program_note: str
    port: int | None
    port_taken: bool | None
    health: str | None
    health_note: str

    @property
    def ok(self) -> bool:
        return self.runnable


def _argv(entry: Mapping[str, Any]) -> list[str]:
    if "bin" in entry:
        return [str(entry["bin"]), *map(str, entry.get("args", []))]
    return [*map(str, entry.get("run", [])), *map(str, entry.get("args", []))]


def _program_state(program: str, cwd: str) -> tuple[bool, str]:
    if "/" not in program:
        found = shutil.which(program, path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        return (True, f"on PATH: {found}") if found else (False, f"{program}: not found on PATH")
    path = Path(program) if os.path.isabs(program) else Path(cwd) / program
    if not path.exists():
        return False, f"{path}: no such file"
    if not os.access(path, os.X_OK):
        return False, f"{path}: not executable"
    return True, str(path)


def port_taken(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


async def check_services(document: Mapping[str, Any]) -> list[ServiceCheck]:
    services = document.get("services") or {}
    out = []
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
        for name, entry in services.items():
            argv = _argv(entry)
            runnable, note = _program_state(argv[0], entry.get("cwd", ".")) if argv else (False, "no bin or run")
            port = entry.get("port")
            health = entry.get("health")
            health_note = "no health URL"
            if health:
                try:
                    response = await client.get(health)
                    health_note = f"answers {response.status_code}"
                except httpx.HTTPError as exc:
                    health_note = f"no answer ({type(exc).__name__})"
            out.append(ServiceCheck(name, argv[0] if argv else "", runnable, note, port,
                                    port_taken(port) if port else None, health, health_note))
    return out


@dataclass
class RunningService:
    name: str
    child: procs.Child
    log: Path
    log_file: BinaryIO  # open while the service runs: its output pump writes to it


class StackUpError(GauntletError):
    """A service that could not start or never became healthy, named."""


async def bring_up(document: Mapping[str, Any], logs: Path, on_ready: Callable[[str, float], None] | None = None,
                   grace: float = 5.0, secrets: Secrets = Secrets()) -> list[RunningService]:
    """Start every service in its own process group and wait for each health check.

    On any failure the ones already started are stopped and StackUpError names the one
    that did not come up (and where its log is).
    """
    logs.mkdir(parents=True, exist_ok=True)
    started: list[RunningService] = []
    try:
        for name, entry in (document.get("services") or {}).items():
            argv = _argv(entry)
            if not argv:
                raise StackUpError(f"service {name}: neither bin nor run is given")
            # Checked first: another process answering the health URL would pass for this service.
            if entry.get("port") and port_taken(entry["port"]):
                raise StackUpError(f"service {name}: port {entry['port']} is already taken by another process "
                                   "(stop it, or give the service another port)")
            log_path = logs / f"{name}.log"
            log = open(log_path, "w+b")
            try:
                child = await procs.spawn(argv, procs.ToFile(log.fileno(), lambda n: None, secrets=secrets),
                                          cwd=Path(entry.get("cwd", ".")), env=entry.get("env"))
            except OSError as exc:
                log.close()
                raise StackUpError(f"service {name}: cannot start {argv[0]}: {exc.strerror or exc}") from None
            service = RunningService(name, child, log_path, log)
            started.append(service)
            took = await _wait_healthy(service, entry)
            if on_ready is not None:
                on_ready(name, took)
        return started
    except BaseException:
        await stop_all(started, grace)
        raise


async def _wait_healthy(service: RunningService, entry: Mapping[str, Any]) -> float:
    health = entry.get("health")
    timeout = float(entry.get("health_timeout_s", 30.0))
    loop = asyncio.get_running_loop()
    start = loop.time()
    if not health:
        return 0.0
    async with httpx.AsyncClient(timeout=1.0, trust_env=False) as client:
        while True:
            if service.child.proc.returncode is not None:
                raise StackUpError(f"service {service.name} exited with code {service.child.proc.returncode} "
                                   f"before answering {health} (log: {service.log})")
            try:
                response = await client.get(health)
                if response.status_code < 400:
                    return loop.time() - start
            except httpx.HTTPError:
                pass
            if loop.time() - start > timeout:
                raise StackUpError(f"service {service.name} did not answer {health} within {timeout:g}s "
                                   f"(log: {service.log})")
            exited = asyncio.ensure_future(service.child.proc.wait())
            await asyncio.wait([exited], timeout=HEALTH_POLL)
            exited.cancel()


async def stop_all(services: list[RunningService], grace: float = 5.0) -> None:
    """Stop every service's process group, let its output drain, close its log."""
    if not services:  # asyncio.wait refuses an empty set
        return
    await asyncio.gather(*(procs.stop_group(s.child, grace) for s in services), return_exceptions=True)
    await asyncio.wait([s.child.drained for s in services], timeout=grace)
    for s in services:
        s.log_file.close()

"""`[smokes]` and `[[smoke]]`: the smoke chain's section of the config, read and validated."""

from __future__ import annotations

import glob as globlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core import TableReader, check_duplicates, check_name, resolve_path


@dataclass(frozen=True)
class Smoke:
    name: str
    layer: str
    argv: tuple[str, ...] | None
    shell: str | None
    timeout: float
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()

    @property
    def command(self) -> tuple[str, ...]:
        """The argv actually executed: the shell is used only when asked for."""
        return ("/bin/sh", "-c", self.shell) if self.shell is not None else self.argv or ()


@dataclass(frozen=True)
class SmokesConfig:
    stop_on_fail: bool = True
    parallel: int = 1
    timeout: float = 120.0
    grace: float = 5.0
    smokes: tuple[Smoke, ...] = ()


_SMOKES = ("stop_on_fail", "parallel", "timeout", "grace", "glob", "layer")


_SMOKE = ("name", "layer", "run", "shell", "timeout", "env", "needs", "cwd")


def smokes_section(top: TableReader, workdir: Path) -> SmokesConfig:
    s = top.table("smokes", _SMOKES)
    timeout = s.duration("timeout", 120.0)
    default_layer = s.string("layer", "smokes") or "smokes"
    smokes: list[Smoke] = []
    readers = top.tables("smoke", _SMOKE)
    for r in readers:
        smokes.append(_smoke(r, workdir, timeout, default_layer))
    pattern = s.string("glob")
    if pattern:
        matches = sorted(globlib.glob(str(resolve_path(workdir, pattern))))
        if not matches:
            s.problem("glob", f"matches no file under {workdir}")
        for match in matches:
            name = Path(match).stem.removesuffix("_smoke")
            smokes.append(Smoke(name=name, layer=default_layer, argv=(match,), shell=None,
                                timeout=timeout, cwd=workdir))
    names = [sm.name for sm in smokes]
    check_duplicates(readers + [s] * (len(smokes) - len(readers)), names, "smoke")
    _check_needs(readers, smokes)
    parallel = s.integer("parallel", 1, minimum=1) or 1
    return SmokesConfig(
        stop_on_fail=s.boolean("stop_on_fail", True),
        parallel=parallel,
        timeout=timeout,
        grace=s.duration("grace", 5.0),
        smokes=tuple(smokes),
    )


def _smoke(r: TableReader, workdir: Path, default_timeout: float, default_layer: str) -> Smoke:
    name = r.string("name", required=True)
    check_name(r, name)
    argv = r.argv("run")
    shell = r.string("shell")
    if argv is None and shell is None and not r.has("run"):
        r.problem(None, "needs `run` (a command) or `shell` (a /bin/sh -c string)")
    if r.has("run") and r.has("shell"):
        r.problem("shell", "give either `run` or `shell`, not both")
    cwd_value = r.string("cwd")
    return Smoke(
        name=name or f"<{r.path}>",
        layer=r.string("layer", default_layer) or default_layer,
        argv=argv,
        shell=shell,
        timeout=r.duration("timeout", default_timeout),
        cwd=resolve_path(workdir, cwd_value) if cwd_value else workdir,
        env=r.string_map("env"),
        needs=r.string_list("needs"),
    )


def _check_needs(readers: list[TableReader], smokes: list[Smoke]) -> None:
    known = {s.name for s in smokes}
    graph = {s.name: s.needs for s in smokes}
    for r, smoke in zip(readers, smokes):
        for need in smoke.needs:
            if need not in known:
                r.problem("needs", f"names an unknown smoke {need!r}")
            elif need == smoke.name:
                r.problem("needs", "a smoke cannot need itself")
    cycle = _find_cycle(graph)
    if cycle:
        where = next((r for r, s in zip(readers, smokes) if s.name == cycle[0]), None)
        message = "dependency cycle: " + " -> ".join(cycle)
        if where is not None:
            where.problem("needs", message)


def _find_cycle(graph: Mapping[str, tuple[str, ...]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt == node or nxt not in graph:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None

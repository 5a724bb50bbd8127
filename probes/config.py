"""The gauntlet config (`gauntlet.toml`): loading, defaults and validation of the whole contract.

Every problem is collected with its key path and reported at once (ConfigError), so an
operator fixes a config in one pass. Relative paths are resolved against `workdir` here,
once, so no later phase has to know where the config lived.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .core import ENV_REF, MIN_LENGTH, ConfigError, Problem, Secrets, TableReader, resolve_path, url_secrets
from .mirror import MirrorConfig, mirror_section
from .parity import ParityConfig, parity_section
from .scrum import ScrumConfig, scrum_section
from .smokes import SmokesConfig, smokes_section
from .stack import StackConfig, stack_section

PHASES = ("stack", "smokes", "scrum", "parity", "verdict")


@dataclass(frozen=True)
class VerdictConfig:
    known_gaps: Path | None = None
    tracker: Path | None = None
    latency: str = "block"  # what a slower candidate does to the verdict: "block" or "report"


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    workdir: Path
    out_dir: Path
    smokes: SmokesConfig = SmokesConfig()
    scrum: ScrumConfig = ScrumConfig()
    parity: ParityConfig = ParityConfig()
    verdict: VerdictConfig = VerdictConfig()
    stack: StackConfig = StackConfig()
    mirror: MirrorConfig | None = None  # `[mirror]`: shadow traffic, judged with [parity]'s targets and rules
    secrets: Secrets = Secrets()  # what must never be written or shown (probes/core/_redact.py)

    def phases_present(self) -> tuple[str, ...]:
        """Phases this config has something to do for, in run order."""
        have = {
            "stack": self.stack.up and bool(self.stack.services),
            "smokes": bool(self.smokes.smokes),
            "scrum": bool(self.scrum.bundles),
            "parity": bool(self.parity.cases) or self.parity.cases_stream is not None,
            "verdict": True,
        }
        return tuple(p for p in PHASES if have[p])


_TOP = ("gauntlet", "smokes", "smoke", "scrum", "parity", "verdict", "stack", "mirror")
_GAUNTLET = ("name", "workdir", "out_dir")
LATENCY_MODES = ("block", "report")
_VERDICT = ("known_gaps", "tracker", "latency")


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve a config; raise ConfigError listing every problem."""
    env = os.environ if env is None else env
    source = Path(path)
    raw = _read_toml(source)
    problems: list[Problem] = []
    top = TableReader(raw, "", problems, _TOP)
    g = top.table("gauntlet", _GAUNTLET)
    base = source.resolve().parent
    workdir = resolve_path(base, g.string("workdir", ".") or ".")
    if not workdir.is_dir():
        g.problem("workdir", f"no such directory: {workdir}")
    config = Config(
        path=source.resolve(),
        name=g.string("name", source.stem) or source.stem,
        workdir=workdir,
        out_dir=resolve_path(workdir, g.string("out_dir", "reports/gauntlet") or "reports/gauntlet"),
        smokes=smokes_section(top, workdir),
        scrum=scrum_section(top, workdir, env),
        parity=parity_section(top, workdir, env),
        verdict=_verdict(top, workdir),
        stack=stack_section(top, workdir),
    )
    config = replace(config, mirror=mirror_section(top, config.parity))
    config = replace(config, secrets=_secrets(config, top, env))
    if config.parity.latency is not None:  # the verdict's word on latency travels with the probe's events
        config = replace(config, parity=replace(config.parity, latency=replace(
            config.parity.latency, blocking=config.verdict.latency == "block")))
    elif isinstance(raw.get("verdict"), dict) and "latency" in raw["verdict"]:
        problems.append(Problem("verdict.latency", "judges latency, but [parity.latency] is not set: nothing is timed"))
    if problems:
        raise ConfigError(str(source), problems)
    return config


def preflight(config: Config) -> list[Problem]:
    """Problems with the world rather than the file: scripts and inputs that are missing.

    Kept apart from load_config so a run still starts (a missing script is that smoke's
    failure, reported as a result) while `gauntlet check` reports them up front.
    """
    problems: list[Problem] = []
    for i, smoke in enumerate(config.smokes.smokes):
        if smoke.argv and ("/" in smoke.argv[0]):
            script = resolve_path(smoke.cwd, smoke.argv[0])
            if not script.exists():
                problems.append(Problem(f"smoke[{i}].run", f"no such file: {script}"))
            elif not os.access(script, os.X_OK):
                problems.append(Problem(f"smoke[{i}].run", f"not executable: {script} (chmod +x)"))
        if not smoke.cwd.is_dir():
            problems.append(Problem(f"smoke[{i}].cwd", f"no such directory: {smoke.cwd}"))
    for i, bundle in enumerate(config.scrum.bundles):
        if bundle.diff is not None and not bundle.diff.is_file():
            problems.append(Problem(f"scrum.bundle[{i}].diff", f"no such file: {bundle.diff}"))
    if config.scrum.prompt_file is not None and not config.scrum.prompt_file.is_file():
        problems.append(Problem("scrum.prompt_file", f"no such file: {config.scrum.prompt_file}"))
    if config.scrum.bundles and config.scrum.api_key_env and any(
        r.kind == "openai" for r in config.scrum.reviewers
    ) and not os.environ.get(config.scrum.api_key_env):
        problems.append(Problem("scrum.api_key_env",
                                f"environment variable {config.scrum.api_key_env} is not set"))
    if config.verdict.known_gaps is not None and not config.verdict.known_gaps.is_file():
        problems.append(Problem("verdict.known_gaps", f"no such file: {config.verdict.known_gaps}"))
    unwritable = unwritable_dir(config.out_dir)
    if unwritable:
        problems.append(Problem("gauntlet.out_dir", unwritable))
    return problems


def unwritable_dir(out_dir: Path) -> str | None:
    """Why no run directory can be made under out_dir, or None. A run refuses such an out_dir
    before it starts rather than fail making its directory; a missing out_dir is made."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a directory: no run directory can be made in {out_dir}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable: no run directory can be made in {out_dir}"
    return None


def _read_toml(source: Path) -> dict[str, Any]:
    try:
        text = source.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(str(source), [Problem(str(source), "no such file")]) from None
    except IsADirectoryError:
        raise ConfigError(str(source), [Problem(str(source), "is a directory, not a config file")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(source), [Problem(str(source), f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(source), [Problem(str(source), f"invalid TOML: {exc}")]) from None


def _secrets(config: Config, top: TableReader, env: Mapping[str, str]) -> Secrets:
    """Every secret the config knows, each checked long enough to mask (probes/core/_redact.py)."""
    found: list[tuple[str, str, str]] = []  # (key path, what holds it, value)
    if config.scrum.api_key_env and env.get(config.scrum.api_key_env):
        found.append(("scrum.api_key_env", f"environment variable {config.scrum.api_key_env}",
                      env[config.scrum.api_key_env]))
    parity = top.raw.get("parity")
    parity = parity if isinstance(parity, dict) else {}
    listed = parity.get("targets")
    targets: dict[str, Any] = listed if isinstance(listed, dict) else {}
    header_tables = [("parity.headers", parity.get("headers"))] + [
        (f"parity.targets.{name}.headers", target.get("headers"))
        for name, target in targets.items() if isinstance(target, dict)]
    for where, headers in header_tables:
        for name, value in headers.items() if isinstance(headers, dict) else ():
            for variable in ENV_REF.findall(str(value)):
                if env.get(variable):
                    found.append((f"{where}.{name}", f"environment variable {variable}", env[variable]))
    urls = [("scrum.gateway", "LH_GATEWAY" if env.get("LH_GATEWAY") else "", config.scrum.gateway or "")]
    urls += [(f"parity.targets.{name}", "", url) for name, url in config.parity.targets.items()]
    if config.mirror is not None and config.mirror.secondary is not None:
        urls.append(("mirror.secondary", "", config.mirror.secondary))
    for where, variable, url in urls:
        holder = f"the password of the URL in {variable or where}"
        found += [(where, holder, value) for value in url_secrets(url)]
    for where, holder, value in found:
        if len(value) < MIN_LENGTH:
            top.problems.append(Problem(where, f"{holder} is too short to mask ({len(value)} characters, "
                                               f"at least {MIN_LENGTH}): a shorter secret would be masked "
                                               "wherever its letters occur"))
    return Secrets(tuple(value for _, _, value in found))


def _verdict(top: TableReader, workdir: Path) -> VerdictConfig:
    v = top.table("verdict", _VERDICT)
    gaps = v.string("known_gaps")
    tracker = v.string("tracker")
    return VerdictConfig(
        known_gaps=resolve_path(workdir, gaps) if gaps else None,
        tracker=resolve_path(workdir, tracker) if tracker else None,
        latency=v.string("latency", "block", choices=LATENCY_MODES) or "block",
    )



"""Shared fixtures: real scripts on disk and configs written as real files."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write an executable script under tmp_path/scripts and return its path."""

    def make(name: str, body: str, *, executable: bool = True) -> Path:
        path = tmp_path / "scripts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip())
        if executable:
            path.chmod(0o755)
        return path

    return make


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a gauntlet.toml in tmp_path (run output goes to tmp_path/out)."""

    def make(body: str, name: str = "gauntlet.toml") -> Path:
        path = tmp_path / name
        text = textwrap.dedent(body)
        if "[gauntlet]" not in text:
            text = '[gauntlet]\nname = "test"\nout_dir = "out"\n' + text
        path.write_text(text)
        return path

    return make


@pytest.fixture
def python() -> str:
    return sys.executable


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(autouse=True)
def _no_gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LH_GATEWAY", raising=False)
    monkeypatch.delenv("SCRUM_FORCE_OVERSIZE", raising=False)
    os.environ.setdefault("TZ", "UTC")

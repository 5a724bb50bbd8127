#!/usr/bin/env python3
"""Build the native validatord pair offline, with Debian's toolchains.

Rust is built by Debian's cargo from Debian's packaged crates (the `.cargo/config.toml`
beside the crate replaces crates.io with /usr/share/cargo/registry), Go by Debian's go
with the standard library only. Both are called by full path with a bare environment, so
a rustup toolchain or another Go on PATH cannot make one machine's build differ from CI's.

A build lands in `<cache>/<key>/`, the key being the sha256 of the sources, the toolchain
versions and the packaged crates: a directory that already holds both binaries is reused,
and changing any of those builds afresh. The cache is the user's (`$XDG_CACHE_HOME`, else
~/.cache, then gauntlet/native), so `make native`, the tests and every checkout of the same
sources share one build. Standard library only, so it runs before any virtualenv exists.

    python3 sample_configs/native/build.py [--install] [--cache DIR] [--bin DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CARGO, RUSTC, GO = Path("/usr/bin/cargo"), Path("/usr/bin/rustc"), Path("/usr/bin/go")
CRATES = Path("/usr/share/cargo/registry")
RUST_BIN, GO_BIN = "validatord-rust", "validatord-go"
SOURCES = ("rust/Cargo.toml", "rust/.cargo/config.toml", "rust/src/**/*.rs", "go/go.mod", "go/**/*.go")
LOG_TAIL = 30  # lines of a failed build's log shown in the error


def user_cache() -> Path:
    """Where builds are kept unless told otherwise: outside the checkout, so a fresh clone
    of unchanged sources finds its build."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gauntlet" / "native"


class ToolchainError(Exception):
    """The Debian packages are missing and cannot be installed here; says what to run."""


class BuildError(Exception):
    """A compiler refused the sources; carries the end of its log and where the rest is."""


@dataclass(frozen=True)
class Build:
    dir: Path
    rust: Path
    go: Path
    cached: bool
    seconds: dict[str, float]  # per toolchain; empty for a cached build


def apt_packages(root: Path = HERE) -> list[str]:
    lines = (root / "apt-packages.txt").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def missing_packages(packages: Sequence[str]) -> list[str]:
    if shutil.which("dpkg-query") is None:
        raise ToolchainError("dpkg-query not found: the native twins are built with Debian's packages "
                             f"({', '.join(packages)}) on a Debian-based system")
    missing = []
    for package in packages:
        state = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package],
                               capture_output=True, text=True)
        if not state.stdout.startswith("ii"):
            missing.append(package)
    return missing


def install(packages: Sequence[str]) -> None:
    """apt-get as root (or through sudo): an update first, then only what is missing."""
    prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise ToolchainError(f"cannot install {' '.join(packages)}: not root and no sudo; "
                                 f"as root run: apt-get install -y {' '.join(packages)}")
        prefix = ["sudo", "-n", *prefix]  # never a password prompt: fail and say so instead
    for step in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]):
        done = subprocess.run(prefix + step, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-LOG_TAIL:])
            raise ToolchainError(f"{' '.join(step)} failed (exit {done.returncode}):\n{tail}")


def ensure_toolchain(install_missing: bool, root: Path = HERE) -> list[str]:
    """The packages that had to be installed; ToolchainError when some are still missing."""
    packages = apt_packages(root)
    missing = missing_packages(packages)
    if missing and not install_missing:
        raise ToolchainError(f"missing Debian packages: {' '.join(missing)} "
                             f"(install them: apt-get install -y {' '.join(missing)}, or rerun with --install)")
    if missing:
        install(missing)
        still = missing_packages(packages)
        if still:
            raise ToolchainError(f"still missing after apt-get install: {' '.join(still)}")
    return missing


def source_files(root: Path = HERE) -> list[Path]:
    return sorted({path for pattern in SOURCES for path in root.glob(pattern) if path.is_file()})


def _version(argv: Sequence[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, env=_bare_env(Path("/tmp"))).stdout.strip()


def build_key(root: Path = HERE) -> str:
    """sha256 of the sources, the toolchain versions and the packaged crates' names."""
    digest = hashlib.sha256()
    identity = [_version([str(CARGO), "--version"]), _version([str(RUSTC), "--version"]),
                _version([str(GO), "version"]), *sorted(p.name for p in CRATES.iterdir())]
    digest.update("\n".join(identity).encode())
    for path in source_files(root):
        digest.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _bare_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", **extra}


def _copy_sources(root: Path, work: Path) -> None:
    """Build from a copy: cargo writes Cargo.lock beside the manifest, never in the repo."""
    for path in source_files(root):
        target = work / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _compile(work: Path) -> dict[str, float]:
    """cargo and go at once (cargo alone keeps two cores busy only part of the time)."""
    jobs = {
        "rust": ([str(CARGO), "build", "--release", "--offline"], work / "rust",
                 _bare_env(work, CARGO_HOME=str(work / "cargo-home"), CARGO_TARGET_DIR=str(work / "target"),
                           RUSTC=str(RUSTC))),
        "go": ([str(GO), "build", "-o", str(work / GO_BIN), "."], work / "go",
               _bare_env(work, GOCACHE=str(work / "go-cache"), GOPATH=str(work / "go-path"), GOPROXY="off",
                         GOFLAGS="-mod=mod", GOTOOLCHAIN="local", GOTELEMETRY="off")),
    }

    def run(name: str) -> tuple[int, float]:
        argv, cwd, env = jobs[name]
        started = time.monotonic()
        with open(work / f"{name}.log", "wb") as log:
            code = subprocess.run(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
        return code, round(time.monotonic() - started, 1)

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = dict(zip(jobs, pool.map(run, jobs)))
    failures = []
    for name, (code, _) in results.items():
        if code != 0:
            lines = (work / f"{name}.log").read_text("utf-8", errors="replace").strip().splitlines()
            failures.append(f"{name} build failed (exit {code}; log: {work / (name + '.log')}):\n"
                            + "\n".join(lines[-LOG_TAIL:]))
    if failures:
        raise BuildError("\n".join(failures))
    return {name: secs for name, (_, secs) in results.items()}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def build(cache: Path, root: Path = HERE) -> Build:
    """Both binaries for the current sources: from the cache, else built (one builder at a time)."""
    key = build_key(root)[:16]
    out = cache / key
    rust, go = out / RUST_BIN, out / GO_BIN
    with _locked(cache / f"{key}.lock"):
        if rust.is_file() and go.is_file():
            return Build(out, rust, go, True, {})
        work = out / "work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _copy_sources(root, work)
        seconds = _compile(work)
        os.replace(work / "target" / "release" / RUST_BIN, rust)
        os.replace(work / GO_BIN, go)
        shutil.rmtree(work)
    return Build(out, rust, go, False, seconds)


def link(built: Build, bin_dir: Path) -> None:
    """bin/validatord-rust and bin/validatord-go point at the current build."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for binary in (built.rust, built.go):
        tmp = bin_dir / f".{binary.name}.new"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(os.path.relpath(binary, bin_dir))
        os.replace(tmp, bin_dir / binary.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the native validatord pair (Rust and Go) offline")
    parser.add_argument("--install", action="store_true",
                        help="apt-get install the toolchain packages that are missing (root or sudo)")
    parser.add_argument("--cache", type=Path, default=user_cache(), help="build cache (default: %(default)s)")
    parser.add_argument("--bin", type=Path, default=HERE / "bin",
                        help="where validatord-rust and validatord-go are linked (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        installed = ensure_toolchain(args.install)
        if installed:
            print(f"native twins: installed {' '.join(installed)}")
        built = build(args.cache)
    except ToolchainError as exc:
        print(f"native twins: {exc}", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"native twins: {exc}", file=sys.stderr)
        return 1
    link(built, args.bin)
    how = ("cached build" if built.cached else
           "built in " + ", ".join(f"{name} {secs:g}s" for name, secs in built.seconds.items()))
    print(f"native twins: {how} → {args.bin / RUST_BIN}, {args.bin / GO_BIN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Config loading: defaults, resolution, and every bad config reported with its key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from probes.cases._case import UNSET
from probes.config import load_config, preflight
from probes.core._errors import ConfigError

from ..cli import gauntlet
from ..conftest import REPO

EXAMPLE = REPO / "tests" / "fixtures" / "contract" / "lakehouse.toml"  # copy of shared/examples


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return [str(p) for p in info.value.problems]


def test_defaults_and_workdir_resolution(write_config, tmp_path):
    (tmp_path / "work").mkdir()
    path = write_config("""
        [gauntlet]
        name = "x"
        workdir = "work"
        out_dir = "runs"
        [[smoke]]
        name = "a"
        run = "./a.sh --quick"
        cwd = "sub"
    """)
    config = load_config(path, env={})
    assert config.workdir == tmp_path / "work"
    assert config.out_dir == tmp_path / "work" / "runs"
    smoke = config.smokes.smokes[0]
    assert smoke.argv == ("./a.sh", "--quick")
    assert smoke.cwd == tmp_path / "work" / "sub"
    assert smoke.timeout == 120.0 and smoke.layer == "smokes"
    assert config.smokes.stop_on_fail is True and config.smokes.parallel == 1
    assert config.scrum.warn_kb == 60 and config.scrum.max_kb == 100
    assert config.phases_present() == ("smokes", "verdict")


def test_the_contract_example_loads(tmp_path):
    """shared/examples/lakehouse.toml is the contract: every key in it must be accepted."""
    copy = tmp_path / "lakehouse.toml"
    shutil.copy(EXAMPLE, copy)
    config = load_config(copy, env={"LH_GATEWAY": "http://127.0.0.1:9/v1"})
    assert config.scrum.gateway == "http://127.0.0.1:9/v1"  # LH_GATEWAY overrides
    assert [r.kind for r in config.scrum.reviewers] == ["openai", "openai", "command", "replay"]
    assert config.scrum.bundles[1].git_range == "HEAD~6..HEAD"
    assert config.parity.reference == "rust" and set(config.parity.targets) == {"rust", "go"}
    assert config.parity.cases[1].expect_status == 422
    assert config.parity.cases[0].json["fingerprint"] == "pb_0123456789abcdef"
    assert config.parity.compare_headers == ("content-type",)
    assert config.stack.services[0].port == 3221
    assert config.smokes.smokes[1].argv == ("./scripts/validatord_smoke.sh", "--quick")


def test_durations(write_config):
    path = write_config("""
        [smokes]
        timeout = "250ms"
        [[smoke]]
        name = "a"
        run = "true"
        timeout = "2m"
        [parity]
        timeout = "1.5s"
    """)
    config = load_config(path, env={})
    assert config.smokes.timeout == 0.25
    assert config.smokes.smokes[0].timeout == 120.0
    assert config.parity.timeout == 1.5


def test_case_without_json_is_unset(write_config):
    path = write_config("""
        [parity]
        reference = "a"
        targets = { a = "http://127.0.0.1:1", b = "http://127.0.0.1:2" }
        [[parity.case]]
        name = "get"
        path = "/health"
    """)
    case = load_config(path, env={}).parity.cases[0]
    assert case.json is UNSET and case.method == "GET"


BAD_CONFIGS = [
    ("bad TOML with its line", '[gauntlet]\nname = "x"\nout_dir = \n', "invalid TOML", "line 3"),
    ("unknown key with did-you-mean", '[smokes]\nstop_on_fial = true\n', "smokes.stop_on_fial",
     "did you mean 'stop_on_fail'"),
    ("bad duration", '[[smoke]]\nname="a"\nrun="true"\n[[smoke]]\nname="b"\nrun="true"\n'
     '[[smoke]]\nname="c"\nrun="true"\n[[smoke]]\nname="d"\nrun="true"\ntimeout="12x"\n',
     "smoke[3].timeout", 'expected a duration like "30s", got 12x'),
    ("number as duration", '[smokes]\ntimeout = 30\n', "smokes.timeout", "add a unit"),
    ("wrong type", '[smokes]\nparallel = "4"\n', "smokes.parallel", "expected an integer, got a string"),
    ("bool as integer", '[smokes]\nparallel = true\n', "smokes.parallel", "expected an integer"),
    ("parallel below one", '[smokes]\nparallel = 0\n', "smokes.parallel", "must be between 1 and 10000, got 0"),
    ("concurrency beyond any machine", '[parity]\nconcurrency = 99999999999999999\n', "parity.concurrency",
     "must be between 1 and 10000, got 99999999999999999"),
    ("retries beyond 64 bits", '[scrum]\nretries = 123456789012345678901234567890\n', "scrum.retries",
     "must be between 0 and 10000"),
    ("duration beyond a day", '[parity]\ntimeout = "99999999999999999999999h"\n', "parity.timeout",
     'must be between 1ms and 24h, got "99999999999999999999999h"'),
    ("duration of a smoke beyond a day", '[[smoke]]\nname="a"\nrun="true"\ntimeout="1441m"\n', "smoke[0].timeout",
     'must be between 1ms and 24h, got "1441m"'),
    ("duration below a millisecond", '[smokes]\ngrace = "0.5ms"\n', "smokes.grace",
     'must be between 1ms and 24h, got "0.5ms"'),
    ("zero duration", '[[stack.service]]\nname="s"\nbin="x"\nhealth_timeout="0s"\n', "stack.service[0].health_timeout",
     'must be between 1ms and 24h, got "0s"'),
    ("duplicate smoke names", '[[smoke]]\nname="a"\nrun="true"\n[[smoke]]\nname="a"\nrun="true"\n',
     "smoke[1].name", "duplicate smoke name 'a'"),
    ("needs an unknown smoke", '[[smoke]]\nname="a"\nrun="true"\nneeds=["zz"]\n', "smoke[0].needs",
     "unknown smoke 'zz'"),
    ("needs cycle", '[[smoke]]\nname="a"\nrun="true"\nneeds=["b"]\n[[smoke]]\nname="b"\nrun="true"\nneeds=["a"]\n',
     "needs", "dependency cycle: a -> b -> a"),
    ("smoke without a command", '[[smoke]]\nname="a"\n', "smoke[0]", "needs `run`"),
    ("run and shell both", '[[smoke]]\nname="a"\nrun="true"\nshell="true"\n', "smoke[0].shell", "not both"),
    ("smoke name with a slash", '[[smoke]]\nname="../a"\nrun="true"\n', "smoke[0].name", "names files"),
    ("unbalanced quote in run", '[[smoke]]\nname="a"\nrun="echo \'x"\n', "smoke[0].run", "cannot split"),
    ("reviewer kind unknown", '[scrum]\ngateway="http://g"\n[[scrum.reviewer]]\nname="o"\nlineage="x"\nkind="grpc"\n',
     "scrum.reviewer[0].kind", "expected one of openai, command, replay"),
    ("openai reviewer without model", '[scrum]\ngateway="http://g"\n[[scrum.reviewer]]\nname="o"\nlineage="x"\n',
     "scrum.reviewer[0].model", "required for a reviewer of kind 'openai'"),
    ("bundle with diff and git", '[[scrum.bundle]]\nname="b"\ndiff="a.diff"\ngit={range="a..b"}\n',
     "scrum.bundle[0]", "exactly one of"),
    ("warn above max", '[scrum]\nwarn_kb = 200\nmax_kb = 100\n', "scrum.warn_kb", "above max_kb"),
    ("reference names no target", '[parity]\nreference="rust"\ntargets={go="http://127.0.0.1:1", py="http://127.0.0.1:2"}\n'
     '[[parity.case]]\nname="c"\n', "parity.reference", "names no target 'rust'"),
    ("target not a URL", '[parity]\nreference="a"\ntargets={a="http://x", b="localhost:3"}\n', "parity.targets.b",
     "expected an http(s) URL"),
    ("json and body", '[parity]\nreference="a"\ntargets={a="http://x", b="http://y"}\n[[parity.case]]\nname="c"\n'
     'json={a=1}\nbody="x"\n', "parity.case[0].body", "not both"),
    ("expect_status out of range", '[parity]\nreference="a"\ntargets={a="http://x", b="http://y"}\n'
     '[[parity.case]]\nname="c"\nexpect_status=99\n', "parity.case[0].expect_status", "must be between 100 and 599"),
    ("ignore path without $", '[parity]\nignore=["request_id"]\n', "parity.ignore[0]", "starts with '$'"),
    ("service with bin and run", '[[stack.service]]\nname="s"\nbin="x"\nrun="y"\nport=1\n', "stack.service[0]",
     "exactly one of"),
    ("port out of range", '[[stack.service]]\nname="s"\nbin="x"\nport=70000\n', "stack.service[0].port",
     "must be between 1 and 65535, got 70000"),
    ("smoke array is a table", '[smoke]\nname="a"\n', "smoke", "expected an array of tables"),
    ("env value a table", '[[smoke]]\nname="a"\nrun="true"\nenv={A={b=1}}\n', "smoke[0].env.A",
     "expected a string"),
]


@pytest.mark.parametrize("body,where,what", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_names_the_key(write_config, body, where, what):
    path = write_config(body)
    problems = problems_of(path)
    assert any(where in p and what in p for p in problems), problems


def test_every_problem_is_reported_at_once(write_config):
    path = write_config("""
        [smokes]
        parallel = "x"
        timeout = "soon"
        [[smoke]]
        name = "a"
        run = "true"
        needs = ["nope"]
        colour = "red"
    """)
    problems = problems_of(path)
    assert len(problems) == 4, problems


def test_cases_file_problems_name_the_file(write_config, tmp_path):
    (tmp_path / "cases.toml").write_text('[[case]]\nname = "x"\nmethod = "FETCH"\n')
    path = write_config("""
        [parity]
        reference = "a"
        targets = { a = "http://127.0.0.1:1", b = "http://127.0.0.1:2" }
        cases_file = "cases.toml"
    """)
    assert any(p.startswith("cases.toml: case[0].method") for p in problems_of(path))


def test_missing_config_file(tmp_path):
    assert "no such file" in problems_of(tmp_path / "absent.toml")[0]


def test_preflight_finds_missing_and_non_executable_scripts(write_config, script, tmp_path):
    script("plain.sh", "echo hi\n", executable=False)
    path = write_config("""
        [[smoke]]
        name = "gone"
        run = "./scripts/gone.sh"
        [[smoke]]
        name = "plain"
        run = "./scripts/plain.sh"
    """)
    problems = [str(p) for p in preflight(load_config(path, env={}))]
    assert any(p.startswith("smoke[0].run: no such file") for p in problems)
    assert any(p.startswith("smoke[1].run: not executable") for p in problems)


def test_check_command_exit_2_without_traceback(write_config):
    path = write_config('[smokes]\nparallel = "x"\n[[smoke]]\nname = "a"\nrun = "./nope.sh"\n')
    proc = gauntlet("check", str(path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "smokes.parallel: expected an integer" in proc.stderr


def test_check_command_refuses_counts_and_durations_out_of_bounds(write_config):
    path = write_config('[parity]\nconcurrency = 99999999999999999\ntimeout = "99999999999999999999999h"\n'
                        '[smokes]\nparallel = 4\ntimeout = "24h"\n[[smoke]]\nname = "a"\nrun = "true"\n')
    proc = gauntlet("check", str(path))
    assert proc.returncode == 2, proc.stdout
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "parity.concurrency: must be between 1 and 10000, got 99999999999999999" in proc.stderr
    assert 'parity.timeout: must be between 1ms and 24h, got "99999999999999999999999h"' in proc.stderr
    assert "smokes" not in proc.stderr  # the bounds themselves are allowed


def test_check_command_reports_preflight(write_config):
    path = write_config('[[smoke]]\nname = "a"\nrun = "./nope.sh"\n')
    proc = gauntlet("check", str(path))
    assert proc.returncode == 2
    assert "smoke[0].run: no such file" in proc.stderr


def test_check_command_ok(write_config):
    path = write_config('[[smoke]]\nname = "a"\nrun = "true"\n')
    proc = gauntlet("check", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "1 smokes" in proc.stdout


def test_glob_discovers_one_smoke_per_file(write_config, script):
    script("d1_smoke.sh", "#!/bin/sh\n")
    script("g2_smoke.sh", "#!/bin/sh\n")
    script("notes.txt", "x")
    path = write_config('[smokes]\nglob = "scripts/*_smoke.sh"\nlayer = "Substrate"\n')
    smokes = load_config(path, env={}).smokes.smokes
    assert [(s.name, s.layer) for s in smokes] == [("d1", "Substrate"), ("g2", "Substrate")]
    assert smokes[0].argv[0].endswith("scripts/d1_smoke.sh")


def test_glob_matching_nothing_is_a_problem(write_config):
    path = write_config('[smokes]\nglob = "scripts/*_smoke.sh"\n')
    assert any(p.startswith("smokes.glob: matches no file") for p in problems_of(path))


# Inputs a run used to die on with exit 3 (a traceback file), some after making its run
# directory: `gauntlet check` names each with its key path, a run refuses it with exit 2
# before it writes anything. Tests run as root, for whom a directory chmod 0o555 is still
# writable: the unwritable out_dir lies under a regular file, which nobody can write into.
REFUSED_BEFORE_A_RUN = [
    ("out_dir under a file", '[gauntlet]\nname = "t"\nout_dir = "a_file/runs"\n[[smoke]]\nname = "s"\nshell = "true"\n',
     "gauntlet.out_dir", "a_file is a file, not a directory"),
    ("target port out of range", '[parity]\nreference = "a"\n[parity.targets]\na = "http://127.0.0.1:99999"\n'
     'b = "http://127.0.0.1:2"\n[[parity.case]]\nname = "c"\n', "parity.targets.a", "port"),
    ("target port not a number", '[parity]\nreference = "a"\n[parity.targets]\na = "http://127.0.0.1:1"\n'
     'b = "http://127.0.0.1:notaport"\n[[parity.case]]\nname = "c"\n', "parity.targets.b", "port"),
    ("json holding nan", '[parity]\nreference = "a"\n[parity.targets]\na = "http://127.0.0.1:1"\n'
     'b = "http://127.0.0.1:2"\n[[parity.case]]\nname = "c"\njson = {v = nan}\n', "parity.case[0].json", "nan"),
    ("cases_file a directory", '[parity]\nreference = "a"\ncases_file = "casesdir"\n[parity.targets]\n'
     'a = "http://127.0.0.1:1"\nb = "http://127.0.0.1:2"\n', "parity.cases_file", "is a directory"),
]


@pytest.mark.parametrize("body,where,what", [c[1:] for c in REFUSED_BEFORE_A_RUN],
                         ids=[c[0] for c in REFUSED_BEFORE_A_RUN])
def test_check_names_and_a_run_refuses_what_would_fail_it(write_config, tmp_path, body, where, what):
    (tmp_path / "a_file").write_text("in the way\n")
    (tmp_path / "casesdir").mkdir()
    path = write_config(body)
    before = sorted(p.name for p in tmp_path.iterdir())
    for command in (["check", str(path)], ["run", str(path), "--headless"]):
        proc = gauntlet(*command)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout and "internal error" not in proc.stderr
        assert any(where in line and what in line for line in proc.stderr.splitlines()), (command, proc.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no run directory, no history
    assert (tmp_path / "a_file").read_text() == "in the way\n"


def test_a_run_refuses_an_out_option_no_directory_can_be_made_in(write_config, tmp_path):
    (tmp_path / "a_file").write_text("in the way\n")  # root writes through chmod: a file is in the way instead
    path = write_config('[[smoke]]\nname = "s"\nshell = "true"\n')
    proc = gauntlet("run", str(path), "--headless", "--out", str(tmp_path / "a_file" / "runs"))
    assert proc.returncode == 2, proc.stderr
    assert f"--out: {tmp_path / 'a_file'} is a file, not a directory" in proc.stderr.replace("\n", "")
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()

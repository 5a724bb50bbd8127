"""`gauntlet init` on real folders: a git repository with scripts and a contract, an empty
folder, the shipped sample project run end to end."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
import tomllib
from pathlib import Path

import pytest

from probes.config import load_config
from probes.cases._openapi import from_openapi
from tui.cli import main

from ..conftest import REPO, free_ports

CONTRACT = """
openapi: 3.0.3
info: {title: widgets, version: "1"}
paths:
  /health:
    get:
      responses: {"200": {description: up}}
  /widgets:
    post:
      operationId: addWidget
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string, maxLength: 20}
      responses: {"201": {description: made}, "422": {description: refused}}
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root), *args],
                          check=True, capture_output=True, text=True).stdout


def write(root: Path, rel: str, text: str, executable: bool = False) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    if executable:
        path.chmod(0o755)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository of three commits: scripts, a contract, and 90 KB of source in two folders."""
    root = tmp_path / "widgets"
    root.mkdir()
    git(root, "init", "-q")
    write(root, "README.md", "widgets\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "start")
    for i in range(6):
        write(root, f"src/module_{i}.py", "".join(f"VALUE_{i}_{n} = {n}  # a line of source\n" for n in range(400)))
    write(root, "api/openapi.yaml", CONTRACT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "source and contract")
    write(root, "scripts/alpha_smoke.sh", "#!/bin/sh\necho alpha ok\n", executable=True)
    write(root, "scripts/beta_smoke.sh", "#!/bin/sh\necho beta ok\n")  # not executable
    write(root, "tools/db-smoke", "#!/bin/sh\necho db ok\n", executable=True)
    write(root, "docs/notes.md", "notes\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "scripts and docs")
    return root


TARGETS = ("--target", "rust=http://127.0.0.1:3100", "--target", "go=http://127.0.0.1:4110")


def test_init_writes_a_config_check_accepts_and_says_what_it_found(project, capsys):
    assert main(["init", str(project), *TARGETS, "--layer", "Substrate=alpha", "--layer", "Domain=tools/*"]) == 0
    printed = capsys.readouterr().out
    config_path = project / "gauntlet.toml"
    assert main(["check", str(config_path)]) == 0
    config = load_config(config_path)
    smokes = {s.name: s for s in config.smokes.smokes}
    assert {n: s.layer for n, s in smokes.items()} == {"alpha": "Substrate", "beta": "smokes", "db": "Domain"}
    assert smokes["beta"].argv == ("sh", "scripts/beta_smoke.sh")
    assert config.parity.reference == "rust" and dict(config.parity.targets) == {
        "rust": "http://127.0.0.1:3100", "go": "http://127.0.0.1:4110"}
    expected = from_openapi(project / "api" / "openapi.yaml").cases
    assert [c.name for c in config.parity.cases] == [c.name for c in expected]
    assert config.scrum.bundles == ()  # no reviewer given: the bundles are there, commented out
    text = config_path.read_text()
    assert "# [[scrum.bundle]]" in text and "HEAD~2..HEAD" in text and "DECIDE" in text
    for line in ("found   3 smoke script(s)", "found   OpenAPI 3.0.3 contract openapi.yaml",
                 "found   git HEAD~2..HEAD (the last 2 commit(s))", "decide  scrum: written commented out",
                 "guessed smoke beta: scripts/beta_smoke.sh is not executable", f"wrote   {config_path}"):
        assert line in printed, line
    capsys.readouterr()
    assert main(["smokes", str(config_path), "--headless"]) == 0
    assert "3/3 PASS" in capsys.readouterr().out


def test_reviewers_turn_the_bundles_on_each_under_the_size_limit(project):
    assert main(["init", str(project), *TARGETS, "--reviewer", "opus=claude-opus-4-7",
                 "--reviewer", "kimi=kimi-k2", "--gateway", "http://127.0.0.1:9/v1"]) == 0
    config = load_config(project / "gauntlet.toml", env={})
    assert {r.name: r.lineage for r in config.scrum.reviewers} == {"opus": "anthropic", "kimi": "moonshot"}
    assert config.scrum.gateway == "http://127.0.0.1:9/v1"
    bundles = config.scrum.bundles
    names = [b.name for b in bundles]
    assert "src_1" in names and "src_2" in names  # 90 KB of src cut in two at file boundaries
    covered = []
    for bundle in bundles:
        assert bundle.git_range == "HEAD~2..HEAD"
        diff = git(project, "diff", "--no-color", bundle.git_range, "--", *bundle.git_paths)
        assert 0 < len(diff.encode()) <= 60 * 1024, bundle.name
        covered += [line.split(" b/")[-1] for line in diff.splitlines() if line.startswith("diff --git")]
    changed = git(project, "diff", "--name-only", "HEAD~2..HEAD").split()
    assert sorted(covered) == sorted(changed)  # every changed file in exactly one bundle


def test_init_never_overwrites_without_force(project, capsys):
    config_path = project / "gauntlet.toml"
    config_path.write_text("# mine\n")
    assert main(["init", str(project), *TARGETS]) == 2
    assert re.search(r"gauntlet\.toml: already exists; nothing was written \(--force", capsys.readouterr().err)
    assert config_path.read_text() == "# mine\n" and not (project / "gauntlet-cases.toml").exists()
    assert main(["init", str(project), *TARGETS, "--force"]) == 0
    assert config_path.read_text().startswith("# gauntlet config for widgets")


@pytest.mark.parametrize("argv,message", [
    (("--target", "rust=http://127.0.0.1:3100"), "parity needs the reference and at least one candidate"),
    (("--target", "rust"), "--target 'rust': expected NAME=VALUE"),
    (("--target", "a=ftp://x", "--target", "b=http://y"), "--target a=ftp://x: expected an http(s) URL"),
    (("--reviewer", "opus=claude-opus-4-7"), "reviewers need a gateway"),
    (("--git-range", "nope..HEAD"), "git diff nope..HEAD: "),
])
def test_bad_options_are_named(project, argv, message, capsys):
    assert main(["init", str(project), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (project / "gauntlet.toml").exists()


def test_an_empty_folder_gets_a_config_that_check_accepts_with_what_to_decide(tmp_path, capsys):
    assert main(["init", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert main(["check", str(tmp_path / "gauntlet.toml")]) == 0
    for line in ("found   no git repository", "decide  smokes: none found", "decide  parity: targets are placeholders",
                 "decide  parity: no OpenAPI contract found"):
        assert line in printed, line
    doc = tomllib.loads((tmp_path / "gauntlet.toml").read_text())
    assert doc["parity"]["targets"] == {"reference": "http://127.0.0.1:8080", "candidate": "http://127.0.0.1:8081"}


def test_the_sample_project_runs_after_init_with_no_edit(tmp_path, capsys):
    project = tmp_path / "sample_project"
    shutil.copytree(REPO / "sample_configs" / "sample_project", project,
                    ignore=shutil.ignore_patterns("__pycache__", "gauntlet*.toml", "reports"))
    reference, candidate = free_ports(2)  # the Procfile's own ports may be in use beside the suite
    procfile = project / "Procfile"
    procfile.write_text(procfile.read_text().replace("3410", str(reference)).replace("4410", str(candidate)))
    assert main(["init", str(project)]) == 0
    printed = capsys.readouterr().out
    assert f"guessed parity targets from the Procfile's ports: reference = http://127.0.0.1:{reference}" in printed
    assert "guessed stack: health check /health, from the contract" in printed
    config = project / "gauntlet.toml"
    assert main(["check", str(config)]) == 0
    capsys.readouterr()
    assert main(["run", str(config), "--headless"]) == 0
    out = capsys.readouterr().out
    cases = len(from_openapi(project / "openapi.yaml").cases)
    assert f"{cases}/{cases} status codes match · 0/{cases} body shapes diverge" in out
    assert "2/2 PASS" in out and "verdict: SHIP" in out


def test_procfile_services_become_the_stack_and_what_is_unknown_is_left_to_decide(tmp_path, capsys):
    write(tmp_path, "Procfile", """
        # services
        web: gunicorn app:app --bind 0.0.0.0:8001
        worker: celery -A tasks worker
        tail: sh -c 'echo unclosed
        glue: FOO=1 ./run.sh && echo $PORT
    """)
    assert main(["init", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "found   Procfile: web (:8001), worker (port unknown), tail (port unknown), glue (port unknown)" in printed
    assert "decide  stack: a service has no port or health check" in printed
    config = load_config(tmp_path / "gauntlet.toml")
    services = {s.name: s for s in config.stack.services}
    assert config.stack.up is False
    assert services["web"].run == ("gunicorn", "app:app", "--bind", "0.0.0.0:8001") and services["web"].port == 8001
    assert services["tail"].run == ("/bin/sh", "-c", "sh -c 'echo unclosed")
    assert services["glue"].run == ("/bin/sh", "-c", "FOO=1 ./run.sh && echo $PORT")
    assert main(["check", str(tmp_path / "gauntlet.toml")]) == 0


def test_the_contract_is_found_by_its_content_and_the_report_says_where_it_looked(tmp_path, capsys):
    root = tmp_path / "svc"
    write(root, "docs/service-contract.yml", CONTRACT.replace("openapi: 3.0.3", "openapi: 3.0.3\nservers: "
                                                                                  "[{url: 'https://x.example/v2'}]"))
    write(root, "deploy/values.yaml", "replicas: 2\nopenapiPath: /docs\n")  # YAML, no contract
    write(root, "package.json", '{"name": "svc", "scripts": {"test": "jest"}}\n')
    assert main(["init", str(root)]) == 0
    printed = capsys.readouterr().out
    assert "found   docs/service-contract.yml: an OpenAPI contract (by its `openapi:` key, among 3 YAML/JSON" in printed
    config = load_config(root / "gauntlet.toml")
    assert "addWidget_valid" in {c.name for c in config.parity.cases}
    assert all(url.endswith("/v2") for url in config.parity.targets.values())  # the server path is the target's
    assert "guessed parity: the targets' URLs end with the contract's server path /v2" in printed


def test_without_a_contract_init_says_how_many_files_it_looked_at(tmp_path, capsys):
    write(tmp_path / "x", "ci.yml", "on: push\n")
    assert main(["init", str(tmp_path / "x")]) == 0
    assert "found   no OpenAPI contract among 1 YAML/JSON file(s) up to 3 folders deep" in capsys.readouterr().out


def test_test_scripts_and_a_make_test_target_are_offered_commented_out(tmp_path, capsys):
    root = tmp_path / "svc"
    write(root, "scripts/test.sh", "#!/bin/sh\nexit 0\n", executable=True)
    write(root, "Makefile", "build:\n\tcc main.c\n\ntest: build\n\t./run-tests\n")
    assert main(["init", str(root)]) == 0
    printed = capsys.readouterr().out
    text = (root / "gauntlet.toml").read_text()
    assert '# name = "test"' in text and '# run = ["./scripts/test.sh"]' in text
    assert '# name = "make-test"' in text and '# run = ["make", "test"]' in text
    assert load_config(root / "gauntlet.toml").smokes.smokes == ()  # offered, not run
    assert "decide  smokes: test commands offered commented out: ./scripts/test.sh (scripts/test.sh), " \
           "make test (Makefile (target test))" in printed


def test_a_contract_of_webhooks_alone_says_there_is_nothing_to_call(tmp_path, capsys):
    write(tmp_path / "hooks", "openapi.yaml", """
        openapi: 3.1.0
        info: {title: hooks, version: "1"}
        webhooks:
          newPet:
            post:
              responses: {"200": {description: ok}}
    """)
    assert main(["init", str(tmp_path / "hooks")]) == 0
    printed = capsys.readouterr().out.replace("\n", " ")
    assert "webhooks only (newPet)" in printed and "nothing to call" in printed
    assert "no operation" not in printed

"""A review is read up to `[scrum] max_review_kb` and no further: what is kept is cut there and
says so (in the review file, the tally, the summary), the reviewer is stopped (its stream
closed, its program ended) and the event stream carries an excerpt, never the whole review."""

from __future__ import annotations

import json
import sys

import pytest

from probes.config import load_config
from probes.core._errors import ConfigError
from probes.core.events import ReviewFinished

from ..conftest import run_engine
from .test_secrets import DIFF

FINDING = "WHERE: src/lib.rs:2\nSEVERITY: WARN\nWHAT: b is new\n"
CAP_KB = 64

FLOOD = """
import sys
sys.stdin.read()
sys.stdout.write(%r)
line = "the reviewer goes on and on " * 40 + "\\n"
while True:
    sys.stdout.write(line * 64)
    sys.stdout.flush()
""" % FINDING


def _config(write_config, tmp_path, reviewer: str, gateway_url: str = "http://127.0.0.1:9/v1") -> object:
    (tmp_path / "b1.diff").write_text(DIFF)
    return load_config(write_config(f"""
        [scrum]
        gateway = "{gateway_url}"
        max_review_kb = {CAP_KB}
        timeout = "60s"
        [[scrum.bundle]]
        name = "b1"
        diff = "b1.diff"
    """ + reviewer))


def _assert_cut(outcome, seen, reviewer: str) -> None:
    run = outcome.run_dir
    kept = (run / "scrum" / "b1" / f"{reviewer}.md").read_text()
    assert kept.startswith(FINDING)
    assert len(kept.encode()) <= CAP_KB * 1024 + 200, len(kept)
    assert f"cut at {CAP_KB} KB" in kept.splitlines()[-1]
    finished = next(e for e in seen if isinstance(e, ReviewFinished) and e.reviewer == reviewer)
    assert finished.cut_kb == CAP_KB
    tally = json.loads((run / "scrum" / "b1" / "tally.json").read_text())
    assert tally["distinct"] == 1  # the finding before the cut still counts
    assert f"{reviewer} cut at {CAP_KB} KB" in tally["notes"]
    assert f"{reviewer} cut at {CAP_KB} KB" in (run / "scrum" / "summary.md").read_text()
    events = (run / "events.jsonl").stat().st_size
    assert events < 48 * 1024, events  # an excerpt of the review, not the review


def test_a_huge_streamed_review_is_cut_at_the_cap_and_the_stream_closed(gateway, write_config, tmp_path):
    gateway.piece = 4096
    gateway.reviews["huge"] = FINDING + ("a review that never ends, line after line\n" * 400_000)  # 16 MB
    config = _config(write_config, tmp_path, '\n[[scrum.reviewer]]\nname = "opus"\nlineage = "anthropic"\n'
                                             'model = "huge"\n', gateway.url)
    outcome, seen = run_engine(config)
    _assert_cut(outcome, seen, "opus")
    assert "huge" not in gateway.completed  # the rest was never read


def test_a_command_reviewer_that_never_stops_is_stopped_at_the_cap(write_config, tmp_path, script):
    flood = script("flood.py", FLOOD)
    config = _config(write_config, tmp_path, f'\n[[scrum.reviewer]]\nname = "local"\nlineage = "local"\n'
                                             f'kind = "command"\nrun = ["{sys.executable}", "{flood}"]\n')
    outcome, seen = run_engine(config)  # without the cap it would run until its 60 s timeout
    _assert_cut(outcome, seen, "local")
    finished = next(e for e in seen if isinstance(e, ReviewFinished))
    assert "timeout" not in finished.error and "no answer" not in finished.error


@pytest.mark.parametrize("value", ["0", "-1", '"big"', "1.5"])
def test_max_review_kb_must_be_a_positive_integer(write_config, value):
    path = write_config(f"[scrum]\nmax_review_kb = {value}\n")
    with pytest.raises(ConfigError) as failed:
        load_config(path)
    assert "scrum.max_review_kb" in str(failed.value)


def test_max_review_kb_defaults_to_a_megabyte(write_config):
    assert load_config(write_config("[scrum]\n")).scrum.max_review_kb == 1024

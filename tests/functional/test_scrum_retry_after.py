"""A gateway answering 429 with a Retry-After it cannot use: the reviewer retried on the
backoff (the parsing is tests/unit/test_scrum_retry_after.py)."""

from __future__ import annotations

from probes.core.events import Notice
from probes.scrum._run import BACKOFF

from ..unit.test_scrum_retry_after import UNUSABLE
from .test_scrum import openai, run, scrum_config


def test_429_with_a_bad_retry_after_is_retried_on_the_backoff(gateway, write_config, tmp_path):
    reviewers = ""
    for n, value in enumerate(UNUSABLE.values()):
        model = f"flaky429:{n}"
        gateway.retry_after[model] = value
        reviewers += openai(f"r{n}", model, f"lineage{n}")
    path = scrum_config(write_config, tmp_path, gateway.url, reviewers, scrum_extra=f"concurrency = {len(UNUSABLE)}")
    outcome, finished, seen = run(path)
    notices = [e.message for e in seen if isinstance(e, Notice)]
    for n in range(len(UNUSABLE)):
        assert finished[f"r{n}"].status == "ok" and finished[f"r{n}"].retries == 1, finished[f"r{n}"]
        assert gateway.attempts[f"flaky429:{n}"] == 2
        assert any(m.startswith(f"c1_validatord/r{n}: HTTP 429, retry 1/2 in {BACKOFF[0]:g}s") for m in notices), \
            notices
    assert "c1_validatord/r0: HTTP 429, retry 1/2 in 0.5s (its Retry-After 'soon' is unusable)" in notices
    assert outcome.exit_code == 0 and outcome.verdict.complete

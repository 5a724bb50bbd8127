"""A gateway's Retry-After is advice from outside: honoured when it makes sense, and when it
does not (unparseable, past, negative, not finite, absurd) the backoff schedule decides."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from probes.scrum._run import BACKOFF, MAX_RETRY_AFTER, _retry_after, parse_retry_after


pytestmark = pytest.mark.usefixtures("gateway_key")

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)

UNUSABLE = {
    "word": "soon",
    "naive_date": "Wed, 21 Oct 2015 07:28:00 -0000",
    "naive_future_date": "Sun, 01 Mar 2026 12:00:30 -0000",
    "past_date": "Wed, 21 Oct 2015 07:28:00 GMT",
    "impossible_date": "Wed, 32 Oct 2015 07:28:00 GMT",
    "absurd_offset": "Sun, 01 Mar 2026 12:00:30 +9999",
    "negative": "-5",
    "nan": "nan",
    "inf": "inf",
    "exponent": "1e999",
    "absurd_seconds": "99999999999999999999999",
    "absurd_date": "Fri, 31 Dec 9999 23:59:59 GMT",
    "empty": "",
}


@pytest.mark.parametrize("value", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_unusable_retry_after_is_none_and_the_backoff_decides(value):
    assert parse_retry_after(value, NOW) is None
    for attempt in (0, 2, 10):
        response = httpx.Response(429, headers={"Retry-After": value})
        assert _retry_after(response, attempt)[0] == BACKOFF[min(attempt, len(BACKOFF) - 1)]


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0.0),
    ("3", 3.0),
    (" 7 ", 7.0),
    ("1.5", 1.5),
    ("120", MAX_RETRY_AFTER),  # large but sane: capped
    ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
    ("Sun, 01 Mar 2026 13:00:30 +0100", 30.0),
    ("Sun, 01 Mar 2026 14:00:00 GMT", MAX_RETRY_AFTER),
])
def test_usable_retry_after_is_honoured_and_capped(value, expected):
    assert parse_retry_after(value, NOW) == expected


def test_a_date_that_is_now_is_not_in_the_future():
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:00 GMT", NOW) is None


@given(st.text(max_size=60))
def test_any_header_gives_no_wait_or_a_finite_one_within_bounds(value):
    parsed = parse_retry_after(value, datetime.now(UTC))
    assert parsed is None or (math.isfinite(parsed) and 0.0 <= parsed <= MAX_RETRY_AFTER)


def test_a_date_in_the_future_counts_from_now():
    header = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15.0 <= _retry_after(httpx.Response(429, headers={"Retry-After": header}), 0)[0] <= 20.0



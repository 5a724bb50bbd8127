"""Reading events.jsonl back: every line the engine may write is the event it wrote, whichever
JSON parser takes it, and a damaged line says what is wrong with it."""

from __future__ import annotations

import math

import pytest

from probes.core.events import LatencyRow, ParityCaseFinished, event_of_line, to_json


def test_a_line_the_fast_parser_refuses_reads_back_as_written():
    # Python's json writes NaN and integers past 64 bits; orjson refuses both.
    event = ParityCaseFinished("c1", "rust", {"rust": 200, "go": 200}, weight=2**70,
                               latency=(LatencyRow("go", 5, p50=math.nan),))
    line = to_json(event, 1.5)
    t, back = event_of_line(line.encode())
    assert t == 1.5 and back.weight == 2**70 and math.isnan(back.latency[0].p50)
    assert to_json(back, t) == line  # the whole event (NaN equals nothing, itself included)


def test_an_event_read_back_has_every_candidate_in_its_sparse_maps_in_target_order():
    line = ('{"t":1,"type":"ParityCaseFinished","case":"c","reference":"rust",'
            '"statuses":{"zig":200,"rust":200,"go":500},"kinds":{"go":"shape"}}')
    _, event = event_of_line(line.encode())
    assert list(event.kinds.items()) == [("zig", None), ("go", "shape")]
    assert list(event.classes.items()) == [("zig", None), ("go", None)]


@pytest.mark.parametrize("line, message", [
    (b'{"t":1,"type":"NoSuchEvent"}', "not an event line (KeyError: 'NoSuchEvent')"),
    (b'[1, 2]', "not an event line (TypeError"),
    # the standard library's wording, not orjson's
    (b'{"t":1,"type":"ParityCaseFinished"', "not an event line (JSONDecodeError: Expecting ',' delimiter: line 1"),
    (b'{"t":1,"type":"ParityCaseFinished","case":"c"}', "bad ParityCaseFinished event: "),
    (b'{"t":1,"type":"ParityCaseFinished","case":"c","reference":"a","statuses":null}',
     "bad ParityCaseFinished event: statuses: expected an object of targets, got None"),
    (b'{"t":1,"type":"ParityCaseFinished","case":"c","reference":"a","statuses":{"a":200,"b":200},"kinds":[1]}',
     "bad ParityCaseFinished event: kinds: expected an object of targets, got [1]"),
    (b'{"t":1,"type":"ParityCaseFinished","case":"c","reference":"a","statuses":{"a":200,"b":500},"weight":0}',
     "bad ParityCaseFinished event: weight 0: a case stands for one request or more"),
    (b'{"t":1,"type":"RunFinished","case":"\xff"}', "not UTF-8 text (invalid start byte at byte 36)"),
])
def test_a_damaged_line_says_what_is_wrong(line, message):
    with pytest.raises(ValueError) as caught:
        event_of_line(line)
    assert str(caught.value).startswith(message)

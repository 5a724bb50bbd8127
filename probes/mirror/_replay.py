"""From traffic back to cases: the requests a run recorded, as a cases file to replay in CI.

A mirror records the requests it lists (the first few of each way of answering) the way a
HAR entry is recorded, secrets out, beside the answers in `parity/results.jsonl.gz`; a probe
records the cases whose answers it kept. Either way a recorded request is the reference's
`request`: its method, URL, headers and body. By default one request of each way of
answering (its endpoint, each target's status, each candidate's divergence class) is taken
— every class once, and every endpoint that matched once, so a replay keeps what matches
matching too; `divergent` takes every recorded request that diverged or could not be
compared. The file is the cases file `cases from-har` writes, read by any config.

A mirror's requests are recorded as their judging ends, several at once, so not in the
order they came: they are taken, and written, in the order they came (`r<n>-…`, the n-th
request copied), so the same traffic makes the same file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..cases import UNSET, GeneratedCase, cases_jsonl, cases_toml, path_template
from ..core import InputError
from ..parity import entries, read_head

_REQUEST = re.compile(r"r(\d+)-")  # a mirror's name for its n-th request copied


@dataclass(frozen=True)
class RunCases:
    run_dir: Path
    recorded: int  # requests the run's record holds with their request
    cases: tuple[GeneratedCase, ...]
    divergent: bool

    def toml(self) -> str:
        chosen = "every divergent one" if self.divergent else "one per way of answering: every class, every endpoint"
        header = [f"Parity cases from the requests run {self.run_dir.name} recorded, by `gauntlet cases from-run`:",
                  f"{self.recorded} recorded, {len(self.cases)} taken ({chosen}).",
                  "Recorded with their secrets left out (credential headers, secret-named fields: REDACTED)."]
        return cases_toml(header, self.cases)

    def jsonl(self) -> str:
        return cases_jsonl(self.cases)


def cases_from_run(run_dir: Path, *, divergent: bool = False) -> RunCases:
    """The run's recorded requests as cases; InputError when it recorded none."""
    head = read_head(run_dir)
    reference = head.get("reference")
    base = str(head.get("targets", {}).get(reference, ""))
    recorded = 0
    taken: dict[Any, tuple[int | None, GeneratedCase]] = {}
    for entry in entries(run_dir):
        request = entry.get("answers", {}).get(reference, {}).get("request")
        if not isinstance(request, dict):
            continue  # a matching case whose answers were not kept
        recorded += 1
        diverged = bool(entry.get("errors")) or not entry.get("status_match", True) or not entry.get("body_match", True)
        if divergent and not diverged:
            continue
        case = _case(str(entry.get("case")), request, base)
        way = (entry.get("case") if divergent else
               (case.method, case.template or case.path, json.dumps(entry.get("statuses"), sort_keys=True),
                json.dumps(entry.get("classes"), sort_keys=True), json.dumps(entry.get("errors"), sort_keys=True)))
        number = _request_number(case.name)
        held = taken.get(way)
        if held is None or (number is not None and held[0] is not None and number < held[0]):
            taken[way] = (number, case)
    if not recorded:
        raise InputError(f"{run_dir}: its parity record holds no request (a probe keeps those of the cases whose "
                         "answers it kept; a mirror, those of the requests it listed)")
    cases = list(taken.values())
    if all(number is not None for number, _ in cases):
        cases.sort(key=lambda held: held[0] or 0)
    return RunCases(run_dir, recorded, tuple(case for _, case in cases), divergent)


def _request_number(name: str) -> int | None:
    """A mirror's request's place among those copied; None: a probe's case (kept in its order)."""
    found = _REQUEST.match(name)
    return int(found.group(1)) if found else None


def _case(name: str, request: dict[str, Any], base: str) -> GeneratedCase:
    """A recorded request as a case: its path and query off the reference's URL, a JSON
    body as `json` (the record holds it as text)."""
    url = str(request.get("url", ""))
    parts = urlsplit(url[len(base):] if base and url.startswith(base) else url)
    path = parts.path or "/"
    query: dict[str, str | list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        held = query.get(key)
        query[key] = value if held is None else [*([held] if isinstance(held, str) else held), value]
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    body = request.get("body")
    json_body: Any = UNSET
    if isinstance(body, str) and any(k.lower() == "content-type" and "json" in v.lower() for k, v in headers.items()):
        try:
            json_body, body = json.loads(body), None
        except ValueError:
            pass
    template = path_template(path)
    return GeneratedCase(name=name, method=str(request.get("method", "GET")), path=path, query=query, headers=headers,
                         json=json_body, body=body if isinstance(body, str) else None,
                         why=f"{request.get('method', 'GET')} {template}", template=template, kind="recorded")

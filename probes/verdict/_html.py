"""report.html: one run as one self-contained page, for a browser, a CI artifact, `file://`.

The page is rendered on this side from what _report.py gathers, by a Jinja2 template with
autoescaping on: a reviewer's words, a JSON key, a smoke's output are text in it, never
markup. Its stylesheet and its one small script are inlined, and its Content-Security-Policy
lets only that script run (by its hash) and fetches nothing, so a page opened from an artifact
neither runs what a run recorded nor reaches the network. Classes and examples, not every case:
the page stays a few megabytes at 100,000 cases and paints at once, with no data to load.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from ..parity import KIND_MARK, ms, p_text, times
from ..scrum import bundle_notes, tokens_line
from ..smokes import STATUS_WORD
from ._report import CASES_NAMED, Report, gather
from ._verdict import Verdict, VerdictTracker

PAGE = "page"  # the template, stylesheet and script, beside this module
REPORT_HTML = "report.html"
# A code span as CommonMark reads one: a run of backticks, then text, then a run of as many.
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


@cache
def _page() -> tuple[jinja2.Template, Markup, Markup, str]:
    """The template, the stylesheet, the script and the script's CSP hash, read once."""
    env = jinja2.Environment(loader=jinja2.FunctionLoader(_page_file), bytecode_cache=_compiled_templates(),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=False, lstrip_blocks=False)
    env.filters["code_spans"] = code_spans
    template = env.get_template("report.html.j2")
    css, script = _page_file("report.css"), _page_file("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return template, Markup(css), Markup(script), f"sha256-{digest}"


def _page_file(name: str) -> str:
    return resources.files(__package__).joinpath(PAGE, name).read_text(encoding="utf-8")


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """The template compiled once a machine (a third of a second each time otherwise: every
    run writes its page, and `gap add`, `finding dismiss` and `verdict` write it again), in
    Jinja's own folder for this user under the temporary directory, keyed by the template's
    checksum and Python's version. A cache that cannot be written costs the next page that
    third of a second, never the page."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _compiled_templates() -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):  # no folder of this user's own under the temporary directory
        return None


def report_html(tracker: VerdictTracker, verdict: Verdict, run_dir: Path, *, interrupted: bool,
                duration: float) -> str:
    """The page of a run whose boards `tracker` holds (live at a run's end, or replayed), its
    examples and hunks read from `run_dir`."""
    return render(gather(tracker, verdict, run_dir, interrupted=interrupted, duration=duration))


def render(report: Report) -> str:
    template, css, script, script_hash = _page()
    tracker = report.tracker
    states = tracker.comparison.gap_states if tracker.comparison else {}
    used = [(g, states.get(g.id, "first run of this config: nothing to compare with" if tracker.comparison is None
                           else "documented")) for g in tracker.gaps if g.id in report.verdict.gap_ids]
    counted = [tracker.scrum.counts(b) for b in tracker.scrum.bundles.values() if b.tally is not None]
    return template.render(
        r=report, css=css, script=script, script_hash=script_hash, used_gaps=used,
        scrum_counts=(sum(c for c, _ in counted), sum(d for _, d in counted)),
        status_word=STATUS_WORD, kind_mark=KIND_MARK, cases_named=CASES_NAMED,
        bundle_notes=bundle_notes, tokens_line=tokens_line, ms=ms, times=times, p_text=p_text, pct=_pct)


def code_spans(text: str) -> Markup:
    """A verdict's sentence as the page shows it: the paths and keys it quotes in backticks (as
    its Markdown does) as code, everything escaped first, quoted parts too (a JSON key is text
    from outside)."""
    return Markup(_CODE_SPAN.sub(_code, str(escape(text))))


def _code(span: re.Match[str]) -> str:
    inner = span.group(2)
    if len(inner) > 2 and inner.startswith(" ") and inner.endswith(" "):
        inner = inner[1:-1]  # the space that fenced a backtick at either end
    return f"<code>{inner}</code>"


def _pct(share: float) -> str:
    """`12 %`, `0.4 %`, `< 0.1 %`: a share of the cases compared."""
    if share and share < 0.001:
        return "< 0.1 %"
    return f"{share * 100:.1f} %" if share < 0.1 else f"{share * 100:.0f} %"

"""The parity diff viewer: one case, reference on the left, candidate on the right.

The bodies are drawn by a line-API widget that renders only the rows on screen, so a
20 MB body opens and scrolls like a small one. Both sides are one widget: they scroll
together by construction. A gap recorded here is told upwards (GapRecorded): in a run's
app, its model takes the new judgement.
"""

from __future__ import annotations

import re
import shlex
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.geometry import Size
from textual.message import Message
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as ThemeStyle
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from probes import GAP, CaseView, GauntletError, latency_classes, latency_parts, load_case
from probes.parity import KIND_MARK, StoredDifference
from themes.palette import LATENCY_STYLE, STYLES

from ..base import BaseApp
from ..keymap import DIFF_APP_BINDINGS, DIFF_BINDINGS, DIFF_BODY_BINDINGS, GAP_FORM_BINDINGS
from ..widgets import Themed
from ..widgets.form import EntryForm, Field
from .help import HelpScreen

if TYPE_CHECKING:
    from probes import Judgement

TOKEN = re.compile(r'(?P<key>"(?:[^"\\]|\\.)*"(?=:))|(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
                   r"|(?P<lit>\btrue\b|\bfalse\b|\bnull\b)")
# The parts of a row drawn in a colour of their own, over the row's background.
PART_STYLE = {"number": "diff.number", "key": "syntax.key", "str": "syntax.str", "num": "syntax.num",
              "lit": "syntax.lit"}


def highlight(line: str, is_json: bool, styles: dict[str, Style]) -> list[Segment]:
    """A body line as segments, JSON tokens in their colours (`styles` from SideBySide)."""
    base = styles["text"]
    if not is_json:
        return [Segment(line, base)]
    out: list[Segment] = []
    pos = 0
    for match in TOKEN.finditer(line):
        if match.start() > pos:
            out.append(Segment(line[pos:match.start()], base))
        out.append(Segment(match.group(), styles[match.lastgroup or "str"]))
        pos = match.end()
    if pos < len(line):
        out.append(Segment(line[pos:], base))
    return out


def _fit(segments: list[Segment], width: int, base: Style) -> list[Segment]:
    """Cut or pad to exactly `width` cells."""
    strip = Strip(segments).crop(0, width)
    pad = width - strip.cell_length
    return [*strip, Segment(" " * pad, base)] if pad > 0 else list(strip)


class SideBySide(ScrollView, can_focus=True):
    """Both bodies, row by row; only visible rows are ever rendered."""

    BINDINGS = DIFF_BODY_BINDINGS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view: CaseView | None = None
        self.row_kind: dict[int, tuple[str, bool]] = {}  # row -> (kind, dimmed)
        self._styles: dict[tuple[str, bool], dict[str, Style]] = {}  # (kind, dimmed) -> part -> style

    def notify_style_update(self) -> None:
        """The theme (or the CSS) changed: the rows' styles are resolved again when drawn."""
        super().notify_style_update()
        self._styles.clear()

    def row_styles(self, kind: str, dimmed: bool) -> dict[str, Style]:
        """The parts of a row of this kind in the current theme's colours, blended over this
        widget's background (rich styles cannot blend): resolved once per theme, not per line."""
        styles = self._styles.get((kind, dimmed))
        if styles is None:
            parse = self.app.stylesheet.parse_style
            background = ThemeStyle(background=self.background_colors[1])
            row = background + ThemeStyle(dim=dimmed or None)
            if kind:
                row += parse(STYLES[f"diff.{kind}"])
            mark = background + ThemeStyle(bold=True, dim=dimmed or None)
            styles = {"text": row.rich_style, "mark": mark.rich_style,
                      **{part: (row + parse(STYLES[name])).rich_style for part, name in PART_STYLE.items()}}
            self._styles[(kind, dimmed)] = styles
        return styles

    def show(self, view: CaseView, row_kind: dict[int, tuple[str, bool]]) -> None:
        self.view, self.row_kind = view, row_kind
        self.virtual_size = Size(self.size.width, len(view.alignment))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        view = self.view
        row = self.scroll_offset.y + y
        if view is None or row >= len(view.alignment):
            return Strip.blank(width)
        number_width = max(3, len(str(max(len(view.left.lines), len(view.right.lines)))))
        half = max(1, (width - 3) // 2)
        kind, dimmed = self.row_kind.get(row, ("", False))
        left, right = view.alignment.left[row], view.alignment.right[row]
        if not kind and view.differs(row):
            kind = "changed"
        segments: list[Segment] = []
        for side, (line, body) in enumerate(((left, view.left), (right, view.right))):
            styles = self.row_styles("gap" if line == GAP else kind, dimmed)
            if line == GAP:
                cell = [Segment(" " * (number_width + 1), styles["number"])]
            else:
                cell = [Segment(f"{line + 1:>{number_width}} ", styles["number"]),
                        *highlight(body.lines[line], body.is_json, styles)]
            segments += _fit(cell, half, styles["text"])
            if side == 0:
                segments.append(Segment(f" {KIND_MARK.get(kind, ' ')} ", styles["mark"]))
        return Strip(segments).crop(0, width)

    def on_resize(self) -> None:
        if self.view is not None:
            self.virtual_size = Size(self.size.width, len(self.view.alignment))

    def action_move(self, rows: float) -> None:
        self.scroll_to(y=max(0, min(self.max_scroll_y, self.scroll_offset.y + int(rows))), animate=False)

    def action_page(self, pages: int) -> None:
        self.action_move(pages * max(1, self.size.height - 1))

    def scroll_to_row(self, row: int) -> None:
        self.scroll_to(y=max(0, row - self.size.height // 3), animate=False)


class GapForm(EntryForm):
    """Note and owner for a new known gap."""

    BINDINGS = GAP_FORM_BINDINGS
    PREFIX = "gap"

    def __init__(self, case: str) -> None:
        super().__init__(Text.assemble("Record the divergence of ", (case, "bold"), " as a known gap"),
                         [Field("note", "note: what diverges and the fix"), Field("owner", "owner")], "Record")


class DiffApp(BaseApp):
    """`gauntlet diff` and `gauntlet parity --case`: the viewer on its own, no run needed."""

    BINDINGS = DIFF_APP_BINDINGS

    def __init__(self, run_dir: Path, case: str, *, theme: str | None = None) -> None:
        super().__init__(theme=theme)
        self.run_dir, self.case = run_dir, case

    def on_mount(self) -> None:
        self.push_screen(DiffScreen(self.run_dir, self.case), lambda _: self.exit(0))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keys))


class DiffScreen(Screen[None]):
    """One case's divergence; decide here whether it is a bug or a known gap."""

    BINDINGS = DIFF_BINDINGS

    class GapRecorded(Message):
        """The case's divergence is a known gap now, and the run was judged again."""

        def __init__(self, judgement: Judgement) -> None:
            super().__init__()
            self.judgement = judgement

    def __init__(self, run_dir: Path, case: str) -> None:
        super().__init__()
        self.run_dir, self.case = run_dir, case
        self.options = {"headers": False, "raw": False, "hide_noise": False}
        self.candidate: str | None = None
        self.view: CaseView | None = None
        self.shown: list[StoredDifference] = []
        self.position = -1

    def compose(self) -> ComposeResult:
        yield Static(id="diff-title")
        yield Static(id="diff-latency")
        yield Static(id="diff-columns")
        yield SideBySide(id="diff-view")
        yield OptionList(id="diff-list")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.query_one(SideBySide).focus()

    def load(self) -> None:
        """Read and lay out the case (the bodies, the alignment): only when what is shown
        side by side changes — headers, raw, another candidate."""
        try:
            self.view = load_case(self.run_dir, self.case, candidate=self.candidate,
                                  normalise=not self.options["raw"], headers=self.options["headers"])
        except GauntletError as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        self.candidate = self.view.candidate
        self.show()

    def show(self) -> None:
        """Mark the rows and list the differences of the loaded case, noise hidden or not."""
        view = self.view
        if view is None:
            return
        hide = self.options["hide_noise"]
        self.shown = [d for d in view.differences if not (hide and (d.noise or d.ignored))]
        self.query_one(SideBySide).show(view, view.row_kinds(hide_noise=hide))
        options = self.query_one(OptionList)
        options.clear_options()
        for i, d in enumerate(self.shown):
            label = Text(f"{d.path:<28} ", style="bold")
            label.append(f"{d.kind:<7}", style=f"kind.{d.kind}")
            flag = " noise" if d.noise else " ignored" if d.ignored else ""
            label.append(f"{_short(d.ref)} → {_short(d.cand)}{flag}", style="dim" if flag else "")
            if d.evidence:  # learned noise: what the reference itself answered there
                label.append(f"  {d.evidence}", style="dim italic")
            options.add_option(Option(Themed(label), id=str(i)))
        ref_status, cand_status = view.statuses
        mode = " · ".join(k for k, v in self.options.items() if v) or "normalised"
        title = Text.assemble((f" {self.case} ", "bold reverse"), f"  {view.reference} {ref_status}  vs  ",
                              f"{view.candidate} {cand_status}  ", (f"{len(self.shown)} differences", "bold"),
                              (f"  [{mode}]", "dim"))
        self.query_one("#diff-title", Static).update(title)
        timed = latency_parts(view.latency, view.reference)
        line = self.query_one("#diff-latency", Static)
        line.set_class(bool(timed), "-timed")
        line.update(Themed(Text.assemble("latency  ", *((text, LATENCY_STYLE.get(state, "")) for text, state in timed))))
        self._columns()
        self.position = -1

    def _columns(self) -> None:
        if self.view is None:
            return
        half = max(1, (self.size.width - 3) // 2)
        names = f"{self.view.reference} (reference)"[:half].ljust(half) + "   " + self.view.candidate[:half]
        self.query_one("#diff-columns", Static).update(Text(names, style="bold"))

    def on_resize(self) -> None:
        self._columns()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.goto(int(event.option.id))

    def goto(self, index: int) -> None:
        if not self.shown:
            return
        self.position = index % len(self.shown)
        rows = self.shown[self.position].rows
        if rows:
            self.query_one(SideBySide).scroll_to_row(rows[0])

    def action_jump(self, step: int) -> None:
        if self.shown:
            self.goto(self.position + step if self.position >= 0 else (0 if step > 0 else -1))
            self.query_one(OptionList).highlighted = self.position

    def action_toggle_option(self, option: str) -> None:
        self.options[option] = not self.options[option]
        # Hiding noise only filters what is loaded; the others change what is laid out.
        self.show() if option == "hide_noise" else self.load()

    def action_next_candidate(self) -> None:
        if self.view is None:
            return
        candidates = [t for t in self.view.targets if t != self.view.reference]
        if len(candidates) < 2:
            self.notify("only one candidate faces the reference here")
            return
        self.candidate = candidates[(candidates.index(self.view.candidate) + 1) % len(candidates)]
        self.load()

    def action_close(self) -> None:
        self.dismiss()

    def action_copy_curl(self) -> None:
        if self.view is None:
            return
        command = curl_command(self.view.meta[self.view.reference])
        self.app.copy_to_clipboard(command)
        self.notify(command, title="copied (OSC 52)", timeout=8)

    def action_add_gap(self) -> None:
        if self.view is None or not (any(d.kind != "status" for d in self.view.differences)
                                     or latency_classes(self.view.meta)):
            self.notify("this case has no body divergence or slowdown to record", severity="warning")
            return

        def record(answer: dict[str, str] | None) -> None:
            if answer is not None:
                self.record_gap(answer["note"], answer["owner"])

        self.app.push_screen(GapForm(self.case), record)

    def record_gap(self, note: str, owner: str) -> None:
        """The same function as `gauntlet gap add`, into the run's own gaps file; the run is
        judged again (a replay of its events: seconds at 100,000 cases, so on a thread) and
        the screen shows what its verdict files now say."""
        self.run_worker(lambda: self._record_gap(note, owner), thread=True, group="gap", exclusive=True)

    def _record_gap(self, note: str, owner: str) -> None:
        from probes import gaps_path_of_run, judge_run, record_gap

        try:
            gaps_file, tracker = gaps_path_of_run(self.run_dir)
            if gaps_file is None:
                self.app.call_from_thread(self.notify, "the run's config names no [verdict] known_gaps file",
                                          severity="error", markup=False)
                return
            gaps = record_gap(self.run_dir, self.case, gaps_file, note=note, owner=owner, tracker=tracker,
                              today=date.today())
            judgement = judge_run(self.run_dir)
        except (GauntletError, OSError, ValueError) as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10, markup=False)
            return
        self.app.call_from_thread(self._recorded, ", ".join(g.id for g in gaps), gaps_file, judgement)

    def _recorded(self, gap_id: str, gaps_file: Path, judgement: Judgement) -> None:
        self.post_message(self.GapRecorded(judgement))
        self.notify(f"recorded known gap {gap_id} in {gaps_file}; the run's verdict is now "
                    f"{judgement.verdict.verdict}")


def curl_command(meta: dict[str, Any]) -> str:
    """A reproducible request for the case, as sent to the reference."""
    request = meta.get("request") or {}
    parts = ["curl", "-sS", "-X", request.get("method") or meta.get("method") or "GET",
             request.get("url") or meta.get("url", "")]
    for name, value in (request.get("headers") or {}).items():
        parts += ["-H", f"{name}: {value}"]
    if request.get("body") is not None:
        parts += ["--data-binary", request["body"]]
    return shlex.join(parts)


def _short(value: str, limit: int = 28) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"

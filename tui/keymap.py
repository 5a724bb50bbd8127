"""Every key of every screen in one place: the screens take their BINDINGS from here and
the help is generated from SECTIONS, so the help cannot miss a key or name a stale one.

A binding's description is its word in the footer; its tooltip, when set, is the longer
sentence the help shows.
"""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.keys import format_key
from textual.screen import Screen

PANES = ("smokes", "scrum", "parity", "verdict")

APP_BINDINGS = [
    Binding("1", "show_pane('smokes')", "Smokes", key_display="1", tooltip="the smokes pane"),
    Binding("2", "show_pane('scrum')", "Scrum", key_display="2", tooltip="the scrum pane"),
    Binding("3", "show_pane('parity')", "Parity", key_display="3", tooltip="the parity pane"),
    Binding("4", "show_pane('verdict')", "Verdict", key_display="4", tooltip="the verdict pane"),
    Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    Binding("q", "request_quit", "Quit", tooltip="quit (asks first while phases are still running)"),
    # Textual binds ctrl+q to a bare exit, which would leave running phases unstopped.
    Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True,
            tooltip="quit (asks first while phases are still running)"),
    Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True,
            tooltip="interrupt: children are stopped, the verdict is written, marked incomplete"),
]

# Textual's own, on every screen.
SCREEN_BINDINGS = list(Binding.make_bindings(Screen.BINDINGS))

# The command palette is Textual's too.
COMMAND_PALETTE = Binding(App.COMMAND_PALETTE_BINDING, "command_palette", "Palette",
                          tooltip="command palette: panes, themes, quit")

SCRUM_BINDINGS = [
    # Priority: the focused table would take the arrows for its own cursor otherwise.
    Binding("left", "cycle_reviewer(-1)", "Reviewer", show=False, priority=True,
            tooltip="the previous reviewer's review"),
    Binding("right", "cycle_reviewer(1)", "Reviewer", show=False, priority=True, tooltip="the next reviewer's review"),
    Binding("d", "dismiss_finding", "Dismiss", show=False,
            tooltip="dismiss the highlighted finding (findings ledger: reason, owner, optional expiry)"),
]

# The parity pane's list: a cursor over rows drawn only when on screen.
ROW_LIST_BINDINGS = [
    Binding("enter", "choose", "Open", show=False, tooltip="open the highlighted case's diff (on a class: fold or unfold it)"),
    Binding("up", "move(-1)", show=False, tooltip="the row above"),
    Binding("down", "move(1)", show=False, tooltip="the row below"),
    Binding("pageup", "page(-1)", show=False, tooltip="a page up"),
    Binding("pagedown", "page(1)", show=False, tooltip="a page down"),
    Binding("home", "move(-1e12)", show=False, tooltip="the first row"),
    Binding("end", "move(1e12)", show=False, tooltip="the last row"),
]

PARITY_BINDINGS = [
    Binding("slash", "search", "Search", show=False, key_display="/", tooltip="search the case names (Enter keeps, Esc clears)"),
    Binding("g", "toggle_grouping", "Group", show=False, tooltip="cases grouped by divergence class, or in landing order"),
    Binding("f", "cycle_status", "Status", show=False, tooltip="only matches, status mismatches, errors or inconclusive cases (again: the next)"),
    Binding("k", "cycle_kind", "Kind", show=False, tooltip="only one kind of divergence (again: the next kind)"),
    Binding("c", "only_class", "Class", show=False,
            tooltip="only the highlighted row's class (again: every class)"),
    Binding("right_square_bracket", "jump_group(1)", show=False, key_display="]", tooltip="the next class"),
    Binding("left_square_bracket", "jump_group(-1)", show=False, key_display="[", tooltip="the previous class"),
    Binding("escape", "clear_filters", show=False, tooltip="every case again: filters and search cleared"),
]

PARITY_SEARCH_BINDINGS = [Binding("escape", "cancel", "Clear", tooltip="clear the search and go back to the cases")]

DIFF_BINDINGS = [
    Binding("escape,q", "close", "Back", tooltip="back (the standalone viewer quits)"),
    Binding("n", "jump(1)", "Next", tooltip="next difference"),
    Binding("p", "jump(-1)", "Prev", tooltip="previous difference"),
    Binding("h", "toggle('headers')", "Headers", tooltip="show the compared headers too"),
    Binding("r", "toggle('raw')", "Raw", tooltip="the bodies as received, not normalised"),
    Binding("i", "toggle('hide_noise')", "Hide noise", tooltip="hide noisy and ignored differences"),
    Binding("t", "next_candidate", "Candidate", tooltip="the next candidate against the reference"),
    Binding("a", "add_gap", "Known gap", tooltip="record this divergence as a known gap"),
    Binding("c", "copy_curl", "curl", tooltip="copy a curl that reproduces the request"),
]

# The bodies: jumps, not animations; an engineer paging through a 20 MB body wants the page now.
DIFF_BODY_BINDINGS = [
    Binding("up", "move(-1)", show=False, tooltip="scroll both bodies a line up"),
    Binding("down", "move(1)", show=False, tooltip="scroll both bodies a line down"),
    Binding("pageup", "page(-1)", show=False, tooltip="a page up"),
    Binding("pagedown", "page(1)", show=False, tooltip="a page down"),
    Binding("home", "move(-1e12)", show=False, tooltip="the top"),
    Binding("end", "move(1e12)", show=False, tooltip="the bottom"),
]

# `gauntlet diff`: the viewer as an app of its own.
DIFF_APP_BINDINGS = [
    Binding("question_mark", "help", "Help", key_display="?", tooltip="this help"),
    Binding("ctrl+q,ctrl+c", "quit", "Quit", show=False, priority=True, tooltip="quit the standalone viewer"),
]

GAP_FORM_BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="record nothing")]
DISMISS_FORM_BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="dismiss nothing")]

CONFIRM_BINDINGS = [
    Binding("y", "confirm", "Yes", tooltip="stop the phases, write the verdict (marked incomplete), quit"),
    Binding("n,escape", "cancel", "No", tooltip="keep running"),
]

HELP_BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", tooltip="close this help")]

# The help, section by section; a section lists its bindings in order, a key once.
SECTIONS: dict[str, tuple[list[Binding], ...]] = {
    "Everywhere": (APP_BINDINGS, [COMMAND_PALETTE], SCREEN_BINDINGS),
    "Scrum pane": (SCRUM_BINDINGS,),
    "Parity pane": (PARITY_BINDINGS, ROW_LIST_BINDINGS, PARITY_SEARCH_BINDINGS),
    "Diff viewer": (DIFF_BINDINGS, DIFF_BODY_BINDINGS, DIFF_APP_BINDINGS),
    "Recording a known gap": (GAP_FORM_BINDINGS,),
    "Dismissing a finding": (DISMISS_FORM_BINDINGS,),
    "Quit while phases run": (CONFIRM_BINDINGS,),
    "This help": (HELP_BINDINGS,),
}


def key_label(key: str, key_display: str | None = None) -> str:
    """A key as the help shows it: `?`, `esc`, `pgdn`, `ctrl+c`."""
    if key_display:
        return key_display
    *modifiers, name = key.split("+")
    return "+".join([*modifiers, format_key(name)])


def section_rows(lists: tuple[list[Binding], ...]) -> list[tuple[list[str], str]]:
    """(key labels, what they do) for a section, keys that do the same on one row; a key
    bound earlier in the section (which wins) is not repeated."""
    seen: set[str] = set()
    rows: dict[str, list[str]] = {}
    for binding in (b for bindings in lists for b in bindings):
        keys = [k.strip() for k in binding.key.split(",") if k.strip() not in seen]
        seen.update(keys)
        display = binding.key_display if len(keys) == 1 else None
        if keys:
            rows.setdefault(binding.tooltip or binding.description, []).extend(key_label(k, display) for k in keys)
    return [(labels, what) for what, labels in rows.items()]

"""Every key of every screen in one place: the screens take their BINDINGS from here and
the help is generated from SECTIONS, so the help cannot miss a key or name a stale one.

A binding's description is its word in the footer; its tooltip, when set, is the longer
sentence the help shows. Its id (`diff.next`) is the name a user rebinds it by, in the
settings file's `[keys]` (tui/settings.py): Textual applies those keys on every screen
(`App.set_keymap`), and `KeysInForce` tells the help and the panes' hints what they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from textual.app import App
from textual.binding import Binding, BindingType
from textual.keys import REPLACED_KEYS, Keys, format_key, key_to_character
from textual.screen import Screen

PANES = ("smokes", "scrum", "parity", "verdict")

HELP = Binding("question_mark", "help", "Help", key_display="?", tooltip="this help", id="app.help")
# Textual's own key for its command palette, bound here so that it has an id too. Its
# description is the word Textual's footer shows at its right end.
COMMAND_PALETTE = Binding(App.COMMAND_PALETTE_BINDING, "command_palette", "palette", show=False, priority=True,
                          tooltip="command palette: themes, quit (in a run, the panes too)",
                          id="app.command_palette")

APP_BINDINGS: list[BindingType] = [
    Binding("1", "show_pane('smokes')", "Smokes", key_display="1", tooltip="the smokes pane", id="app.smokes"),
    Binding("2", "show_pane('scrum')", "Scrum", key_display="2", tooltip="the scrum pane", id="app.scrum"),
    Binding("3", "show_pane('parity')", "Parity", key_display="3", tooltip="the parity pane", id="app.parity"),
    Binding("4", "show_pane('verdict')", "Verdict", key_display="4", tooltip="the verdict pane", id="app.verdict"),
    HELP,
    Binding("q", "request_quit", "Quit", tooltip="quit (asks first while phases are still running)", id="app.quit"),
    # Textual binds ctrl+q to a bare exit, which would leave running phases unstopped; with
    # priority it quits from a text field too.
    Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True,
            tooltip="quit (asks first while phases are still running)", id="app.quit_anywhere"),
    Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True,
            tooltip="interrupt: children are stopped, the verdict is written, marked incomplete", id="app.interrupt"),
    COMMAND_PALETTE,
]

# Textual's own, on every screen (they have no id: not rebindable).
SCREEN_BINDINGS: list[BindingType] = list(Binding.make_bindings(Screen.BINDINGS))

SCRUM_BINDINGS: list[BindingType] = [
    # Priority: the focused table would take the arrows for its own cursor otherwise.
    Binding("left", "cycle_reviewer(-1)", "Reviewer", show=False, priority=True,
            tooltip="the previous reviewer's review", id="scrum.previous_reviewer"),
    Binding("right", "cycle_reviewer(1)", "Reviewer", show=False, priority=True, tooltip="the next reviewer's review",
            id="scrum.next_reviewer"),
    Binding("d", "dismiss_finding", "Dismiss", show=False,
            tooltip="dismiss the highlighted finding (findings ledger: reason, owner, optional expiry)",
            id="scrum.dismiss"),
]

# The parity pane's list: a cursor over rows drawn only when on screen.
ROW_LIST_BINDINGS: list[BindingType] = [
    Binding("enter", "choose", "Open", show=False, tooltip="open the highlighted case's diff (on a class: fold or unfold it)",
            id="list.open"),
    Binding("up", "move(-1)", show=False, tooltip="the row above", id="list.up"),
    Binding("down", "move(1)", show=False, tooltip="the row below", id="list.down"),
    Binding("pageup", "page(-1)", show=False, tooltip="a page up", id="list.page_up"),
    Binding("pagedown", "page(1)", show=False, tooltip="a page down", id="list.page_down"),
    Binding("home", "move(-1e12)", show=False, tooltip="the first row", id="list.first"),
    Binding("end", "move(1e12)", show=False, tooltip="the last row", id="list.last"),
]

PARITY_BINDINGS: list[BindingType] = [
    Binding("slash", "search", "Search", show=False, key_display="/", tooltip="search the case names (Enter keeps, Esc clears)",
            id="parity.search"),
    Binding("g", "toggle_grouping", "Group", show=False, tooltip="cases grouped by divergence class, or in landing order",
            id="parity.group"),
    Binding("f", "cycle_status", "Status", show=False, tooltip="only matches, status mismatches, errors or inconclusive cases (again: the next)",
            id="parity.status"),
    Binding("k", "cycle_kind", "Kind", show=False, tooltip="only one kind of divergence (again: the next kind)",
            id="parity.kind"),
    Binding("c", "only_class", "Class", show=False,
            tooltip="only the highlighted row's class (again: every class)", id="parity.class"),
    Binding("right_square_bracket", "jump_group(1)", show=False, key_display="]", tooltip="the next class",
            id="parity.next_class"),
    Binding("left_square_bracket", "jump_group(-1)", show=False, key_display="[", tooltip="the previous class",
            id="parity.previous_class"),
    Binding("escape", "clear_filters", show=False, tooltip="every case again: filters and search cleared",
            id="parity.clear"),
]

PARITY_SEARCH_BINDINGS: list[BindingType] = [Binding("escape", "cancel", "Clear", tooltip="clear the search and go back to the cases",
                                  id="parity.search_clear")]

DIFF_BINDINGS: list[BindingType] = [
    Binding("escape,q", "close", "Back", tooltip="back (the standalone viewer quits)", id="diff.back"),
    Binding("n", "jump(1)", "Next", tooltip="next difference", id="diff.next"),
    Binding("p", "jump(-1)", "Prev", tooltip="previous difference", id="diff.previous"),
    Binding("h", "toggle_option('headers')", "Headers", tooltip="show the compared headers too", id="diff.headers"),
    Binding("r", "toggle_option('raw')", "Raw", tooltip="the bodies as received, not normalised", id="diff.raw"),
    Binding("i", "toggle_option('hide_noise')", "Hide noise", tooltip="hide noisy and ignored differences",
            id="diff.hide_noise"),
    Binding("t", "next_candidate", "Candidate", tooltip="the next candidate against the reference",
            id="diff.candidate"),
    Binding("a", "add_gap", "Known gap", tooltip="record this divergence as a known gap", id="diff.known_gap"),
    Binding("c", "copy_curl", "curl", tooltip="copy a curl that reproduces the request", id="diff.curl"),
]

# The bodies: jumps, not animations; an engineer paging through a 20 MB body wants the page now.
DIFF_BODY_BINDINGS: list[BindingType] = [
    Binding("up", "move(-1)", show=False, tooltip="scroll both bodies a line up", id="diff.up"),
    Binding("down", "move(1)", show=False, tooltip="scroll both bodies a line down", id="diff.down"),
    Binding("pageup", "page(-1)", show=False, tooltip="a page up", id="diff.page_up"),
    Binding("pagedown", "page(1)", show=False, tooltip="a page down", id="diff.page_down"),
    Binding("home", "move(-1e12)", show=False, tooltip="the top", id="diff.top"),
    Binding("end", "move(1e12)", show=False, tooltip="the bottom", id="diff.bottom"),
]

# `gauntlet diff`: the viewer as an app of its own (help and the palette rebound with the run's app).
DIFF_APP_BINDINGS: list[BindingType] = [
    HELP,
    Binding("ctrl+q,ctrl+c", "quit", "Quit", show=False, priority=True, tooltip="quit the standalone viewer",
            id="diff.quit"),
    COMMAND_PALETTE,
]

GAP_FORM_BINDINGS: list[BindingType] = [Binding("escape", "cancel", "Cancel", tooltip="record nothing", id="gap_form.cancel")]
DISMISS_FORM_BINDINGS: list[BindingType] = [Binding("escape", "cancel", "Cancel", tooltip="dismiss nothing", id="dismiss_form.cancel")]

CONFIRM_BINDINGS: list[BindingType] = [
    Binding("y", "confirm", "Yes", tooltip="stop the phases, write the verdict (marked incomplete), quit",
            id="confirm.yes"),
    Binding("n,escape", "cancel", "No", tooltip="keep running", id="confirm.no"),
]

HELP_BINDINGS: list[BindingType] = [Binding("escape,q,question_mark", "dismiss", "Close", tooltip="close this help", id="help.close")]

# The help, section by section; a section lists its bindings in order, a key once.
SECTIONS: dict[str, tuple[list[BindingType], ...]] = {
    "Everywhere": (APP_BINDINGS, SCREEN_BINDINGS),
    "Scrum pane": (SCRUM_BINDINGS,),
    "Parity pane": (PARITY_BINDINGS, ROW_LIST_BINDINGS, PARITY_SEARCH_BINDINGS),
    "Diff viewer": (DIFF_BINDINGS, DIFF_BODY_BINDINGS, DIFF_APP_BINDINGS),
    "Recording a known gap": (GAP_FORM_BINDINGS,),
    "Dismissing a finding": (DISMISS_FORM_BINDINGS,),
    "Quit while phases run": (CONFIRM_BINDINGS,),
    "This help": (HELP_BINDINGS,),
}

# Every binding a user can rebind, by id (a binding shared by two screens is one id).
def bindings_of(lists: Iterable[list[BindingType]]) -> list[Binding]:
    """The keymap's bindings, in order: every one is a Binding (Textual's type allows tuples too)."""
    return [b for bindings in lists for b in bindings if isinstance(b, Binding)]


BY_ID: dict[str, Binding] = {b.id: b for lists in SECTIONS.values() for b in bindings_of(lists) if b.id}

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
# The names Textual gives keys that are not characters (`escape`, `pagedown`, `f5`).
KEY_NAMES = frozenset(key.value.rpartition("+")[2] for key in Keys if not key.value.startswith("<"))


def key_problem(keys: str) -> str:
    """What is wrong with a key string of the settings (`j`, `ctrl+k`, `escape,q`), or nothing.

    A key Textual would never send (a misspelt name) would leave its action without a key,
    silently: it is refused instead."""
    for key in keys.split(","):
        key = key.strip()
        *modifiers, name = key.split("+")
        unknown = [m for m in modifiers if m not in MODIFIERS]
        if not key or not name:
            return f"an empty key in {keys!r}"
        if unknown:
            return f"{key!r}: no such modifier {unknown[0]!r} (modifiers: {', '.join(MODIFIERS)})"
        if len(name) > 1 and name not in KEY_NAMES and key_to_character(REPLACED_KEYS.get(name, name)) is None:
            return f"{key!r}: no such key {name!r} (a character, or a name such as escape, enter, pagedown, f5)"
    return ""


def normal_keys(keys: str) -> str:
    """A key string as Textual names its keys (`?` is `question_mark`), so that the help
    compares a user's key with the defaults as Textual will."""
    return ",".join(b.key for b in Binding.make_bindings([Binding(keys, "")]))


def key_label(key: str, key_display: str | None = None) -> str:
    """A key as the help shows it: `?`, `esc`, `pgdn`, `ctrl+c`."""
    if key_display:
        return key_display
    *modifiers, name = key.split("+")
    return "+".join([*modifiers, format_key(name)])


class Row(NamedTuple):
    """A row of the help: keys that do the same, what they do, and the ids they are rebound by."""

    keys: list[str]
    does: str
    ids: list[str]


@dataclass(frozen=True)
class KeysInForce:
    """The keymap's bindings with the user's keys over them (binding id -> keys, as Textual
    names them): what the help and the panes' hints name, so they say the keys that work."""

    overrides: Mapping[str, str] = field(default_factory=dict)

    def keys(self, binding: Binding) -> list[str]:
        rebound = self.overrides.get(binding.id or "")
        return [k.strip() for k in (rebound if rebound is not None else binding.key).split(",") if k.strip()]

    def display(self, binding: Binding) -> str | None:
        """The binding's own spelling of its key, which a rebinding drops (as Textual does)."""
        return None if binding.id in self.overrides else binding.key_display

    def label(self, binding_id: str) -> str:
        """How the first key in force of a binding is shown (`/`, `esc`, `ctrl+k`)."""
        binding = BY_ID[binding_id]
        keys = self.keys(binding)
        return key_label(keys[0], self.display(binding) if len(keys) == 1 else None) if keys else ""

    def section_rows(self, lists: tuple[list[BindingType], ...]) -> list[Row]:
        """A section's rows, keys that do the same on one row. A key bound earlier in the
        section (which wins) is not repeated; a key the user gave to another binding of the
        section is no longer this one's (Textual takes it away too)."""
        bindings = bindings_of(lists)
        taken = {k for b in bindings if b.id in self.overrides for k in self.keys(b)}
        seen: set[str] = set()
        rows: dict[str, Row] = {}
        for binding in bindings:
            mine = self.keys(binding)
            if binding.id not in self.overrides:
                mine = [k for k in mine if k not in taken]
            keys = [k for k in mine if k not in seen]
            seen.update(keys)
            if not keys:
                continue
            display = self.display(binding) if len(keys) == 1 else None
            does = binding.tooltip or binding.description
            row = rows.setdefault(does, Row([], does, []))
            row.keys.extend(key_label(k, display) for k in keys)
            if binding.id and binding.id not in row.ids:
                row.ids.append(binding.id)
        return list(rows.values())

"""The one map from what a colour means to the theme variable that gives it.

Code names a meaning (`Text("FAIL", style="smoke.fail")`), never a colour, so a theme
switch reaches every verdict, status and diff row. The TUI resolves these styles against
the current Textual theme when it draws (tui/widgets); a plain rich console (the headless
printer, `gauntlet diff --headless`) has no Textual theme, so there the same meanings take
the terminal's own ANSI colours, which suit its background and honour NO_COLOR.

No Textual import here: the engine's reports use these names too.
"""

from __future__ import annotations

import re

from rich.theme import Theme

# What each kind of parity divergence is drawn in: its word in the parity pane and its
# row in the diff viewer share the tone.
KIND_TONE = {"status": "error", "shape": "warning", "type": "secondary", "value": "primary", "duplicate-key": "error",
             "header": "accent"}
# What a candidate's latency state is drawn in: in the parity pane and the diff viewer alike.
LATENCY_STYLE = {"slower": "parity.mismatch", "no data": "parity.error", "ok": "dim"}

STYLES: dict[str, str] = {
    "verdict.SHIP": "bold $text-success",
    "verdict.SHIP_WITH_KNOWN_GAP": "bold $text-warning",
    "verdict.BLOCK": "bold $text-error",
    "verdict.reason.BLOCK": "$text-error",
    "badge.SHIP": "bold $background on $success",
    "badge.SHIP_WITH_KNOWN_GAP": "bold $background on $warning",
    "badge.BLOCK": "bold $background on $error",
    "badge.provisional": "bold italic $background on $secondary",
    "run.name": "bold $text-primary",
    "run.watch": "bold $text-secondary",
    "phase.running": "bold $text-primary",
    "phase.done": "$text-success",
    "phase.incomplete": "bold $text-secondary",
    "smoke.pass": "$text-success",
    "smoke.fail": "bold $text-error",
    "smoke.timeout": "bold $text-error",
    "smoke.skipped": "$text-warning",
    "smoke.interrupted": "$text-secondary",
    "smoke.running": "$text-primary",
    "smoke.pending": "dim",
    "smokes.passed": "bold $text-success",
    "smokes.failed": "bold $text-error",
    "review.ok": "$text-success",
    "review.partial": "$text-warning",
    "review.error": "bold $text-error",
    "review.streaming": "$text-primary",
    "review.thin": "$text-error",
    "bundle.warn": "$text-warning",
    "bundle.refused": "bold $text-error",
    "bundle.error": "bold $text-error",
    "bundle.refusal": "$text-error",
    "tokens.enough": "$text-success",
    "tally.block": "bold $text-error",
    "tally.convergent": "bold $text-success",
    "tally.retracted": "$text-warning",
    "tally.recurring": "$text-warning",
    "tally.new": "$text-primary",
    "tally.dismissed": "dim",
    "parity.match": "$text-success",
    "parity.diverge": "bold $text-warning",
    "parity.error": "bold $text-error",
    "parity.mismatch": "bold $text-error",
    "parity.inconclusive": "bold $text-warning",
    **{f"kind.{kind}": f"$text-{tone}" for kind, tone in KIND_TONE.items()},
    "notice.warn": "$text-warning",
    "notice.error": "bold $text-error",
    "delta.worse": "$text-error",
    "delta.better": "$text-success",
    "artifact": "$text-primary",
    "cli.ok": "bold $text-success",
    "cli.error": "bold $text-error",
    "cli.note": "$text-warning",
    "cli.found": "$text-success",
    "cli.guessed": "$text-warning",
    "cli.decide": "bold $text-secondary",
    # The diff viewer: a row's background tells its kind of divergence.
    **{f"diff.{kind}": f"on ${tone} 30%" for kind, tone in KIND_TONE.items()},
    "diff.changed": "on $foreground 8%",
    "diff.gap": "on $foreground 3%",
    "diff.number": "$foreground 45%",
    "syntax.key": "bold $text-primary",
    "syntax.str": "$text-success",
    "syntax.num": "$text-warning",
    "syntax.lit": "$text-secondary",
    # `gauntlet diff --headless`: the reference's differing lines, the candidate's, the gutter.
    "side.reference": "$text-error",
    "side.candidate": "$text-success",
    "side.mark": "$text-warning",
}

# A console without a Textual theme: each theme colour as the terminal's ANSI colour.
ANSI = {"success": "green", "error": "red", "warning": "yellow", "primary": "cyan", "secondary": "magenta",
        "accent": "blue", "foreground": "default", "background": "default"}

_VARIABLE = re.compile(r"\$(?:text-)?([a-z]+)(?:\s+\d+%)?")


def console_style(style: str) -> str:
    """A Textual style of this map as a rich style for a plain console."""
    return _VARIABLE.sub(lambda m: ANSI[m.group(1)], style)


CONSOLE_THEME = Theme({name: console_style(style) for name, style in STYLES.items()})

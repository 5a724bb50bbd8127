"""Textual themes shipped with gauntlet (in themes/gauntlet.py); their names are here
without importing Textual, so the command line can offer them cheaply."""

THEME_NAMES = ("gauntlet-dark", "gauntlet-light", "gauntlet-high-contrast")
DEFAULT_THEME = "gauntlet-dark"

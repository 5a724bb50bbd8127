"""Textual themes shipped with gauntlet (in themes/gauntlet.py); their names are here
without importing Textual, so the command line can offer them cheaply. What each colour
means, and which theme variable gives it, is in themes/palette.py."""

THEME_NAMES = ("gauntlet-dark", "gauntlet-light", "gauntlet-high-contrast")
DEFAULT_THEME = "gauntlet-dark"

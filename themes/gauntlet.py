"""The Textual themes: a dark default, a light one and a high-contrast one."""

from __future__ import annotations

from textual.theme import Theme

GAUNTLET_DARK = Theme(
    name="gauntlet-dark",
    primary="#5FA8D3",
    secondary="#9B8CFF",
    accent="#F2B84B",
    warning="#F2B84B",
    error="#E5534B",
    success="#57AB5A",
    foreground="#D7DCE2",
    background="#14181D",
    surface="#1C2128",
    panel="#22272E",
    dark=True,
)

GAUNTLET_LIGHT = Theme(
    name="gauntlet-light",
    primary="#0B5CAD",
    secondary="#6639BA",
    accent="#9A6700",
    warning="#9A6700",
    error="#CF222E",
    success="#1A7F37",
    foreground="#1F2328",
    background="#FFFFFF",
    surface="#F6F8FA",
    panel="#EAEEF2",
    dark=False,
)

GAUNTLET_HIGH_CONTRAST = Theme(
    name="gauntlet-high-contrast",
    primary="#FFFF00",
    secondary="#00FFFF",
    accent="#FF00FF",
    warning="#FFFF00",
    error="#FF4040",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    dark=True,
)

THEMES = {t.name: t for t in (GAUNTLET_DARK, GAUNTLET_LIGHT, GAUNTLET_HIGH_CONTRAST)}

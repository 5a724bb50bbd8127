"""Widgets shared across panes and screens."""

"""Textual themes shipped with gauntlet."""

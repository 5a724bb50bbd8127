"""Screens pushed over the main view: help, quit confirmation, the diff viewer."""

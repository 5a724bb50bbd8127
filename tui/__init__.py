"""gauntlet's terminal front ends: the CLI, the headless printer and the Textual app."""

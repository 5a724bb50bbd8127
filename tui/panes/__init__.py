"""The app's four panes, one module each; every pane redraws itself from the RunModel."""

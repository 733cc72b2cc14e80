"""Command-line entry points (``spacetools ...``)."""

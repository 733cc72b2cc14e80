"""Pointing backends: referring expressions to image points."""

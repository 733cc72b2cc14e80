"""Offline tabletop perception from RGB-D: table plane, object segments, descriptions."""

"""Swappable backends behind Protocols; heavy imports stay inside each module."""

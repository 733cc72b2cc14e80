"""Evaluation sets with categories and a development / held-out split, and their runner."""

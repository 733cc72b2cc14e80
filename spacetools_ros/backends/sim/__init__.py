"""Embedded MuJoCo simulation of the robot cell."""

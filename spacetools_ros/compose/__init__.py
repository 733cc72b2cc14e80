"""Composition: which world, which backends and which policy, from which config. The CLI, the ROS
nodes and the benchmarks all build their pieces here (``session``, ``policy``, ``toolshed``)."""

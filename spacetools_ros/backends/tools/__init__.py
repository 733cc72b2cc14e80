"""The toolshed: tool implementations over swappable perception / grasp / robot backends."""

"""spacetools_ros: language-driven pick-and-place for a 7-DoF arm on ROS 2."""

__version__ = "0.1.0"

"""Thin ROS 2 node adapters (rclpy and *_msgs imports live only here).

Importing this package keeps DDS discovery on the local host unless the user chose otherwise
(ROS_AUTOMATIC_DISCOVERY_RANGE for Jazzy and newer, ROS_LOCALHOST_ONLY for older distros).
"""

import os

os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")

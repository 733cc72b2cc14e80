"""Thin ROS 2 node adapters (rclpy and *_msgs imports live only here)."""

"""Test and benchmark doubles that speak real protocols (no rclpy): e.g. a scripted chat server."""

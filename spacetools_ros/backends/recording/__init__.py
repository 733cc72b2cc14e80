"""Recording of rosbag2-layout bags (rosbags, pure Python)."""

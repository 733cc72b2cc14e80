"""ROS-free core: data types, geometry, scene description, motion logic."""

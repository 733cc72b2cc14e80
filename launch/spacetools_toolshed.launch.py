"""Toolshed replicas on a ROS 2 install: N vision replicas (and optionally one robot-tools replica)."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _replicas(context):
    share = get_package_share_directory("spacetools_ros")
    params = os.path.join(share, "config", "tool_server.yaml")
    n = int(LaunchConfiguration("replicas").perform(context))
    scene = LaunchConfiguration("scene").perform(context)
    nodes = []
    for i in range(n):
        nodes.append(Node(package="spacetools_ros", executable="spacetools_tool_server", name=f"spacetools_tool_server_{i}",
                          output="screen",
                          parameters=[params, {"replica_id": f"vision{i}", "scene": scene, "tools": ["all"]}]))
    return nodes


def generate_launch_description():
    share = get_package_share_directory("spacetools_ros")
    return LaunchDescription([
        DeclareLaunchArgument("replicas", default_value="2"),
        DeclareLaunchArgument("scene", default_value=os.path.join(share, "config", "scenes", "box_in_bowl.yaml")),
        OpaqueFunction(function=_replicas),
    ])

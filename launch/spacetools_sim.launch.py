"""Embedded world on a ROS 2 install: sim node, robot_state_publisher and (optionally) the recorder."""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("spacetools_ros")
    scene = LaunchConfiguration("scene")
    record = LaunchConfiguration("record")
    with open(os.path.join(share, "urdf", "spacetools_cell.urdf")) as f:
        robot_description = f.read()
    return LaunchDescription([
        DeclareLaunchArgument("scene", default_value=os.path.join(share, "config", "scenes", "box_in_bowl.yaml")),
        DeclareLaunchArgument("record", default_value="", description="bag directory; empty = no recording"),
        Node(package="spacetools_ros", executable="spacetools_sim", name="spacetools_sim", output="screen",
             parameters=[os.path.join(share, "config", "sim_node.yaml"), {"scene": scene}]),
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             parameters=[{"robot_description": robot_description}]),
        Node(package="spacetools_ros", executable="spacetools_recorder", name="spacetools_recorder", output="screen",
             parameters=[os.path.join(share, "config", "recorder.yaml"), {"output": record}],
             condition=IfCondition(PythonExpression(["'", record, "' != ''"]))),
    ])

"""Embedded world on a ROS 2 install: sim node, robot_state_publisher and (optionally) the recorder.

    ros2 launch spacetools_ros spacetools_sim.launch.py namespace:=robot1 use_sim_time:=true

Every node runs in ``namespace`` (default: none), so its topics and services move together
(/clock and /tf stay global); ``use_sim_time`` is passed to every node (the sim node publishes /clock).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from spacetools_ros.ros.bringup import node_parameters


def generate_launch_description():
    share = get_package_share_directory("spacetools_ros")
    scene = LaunchConfiguration("scene")
    record = LaunchConfiguration("record")
    namespace = LaunchConfiguration("namespace")
    sim_time = {"use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)}
    with open(os.path.join(share, "urdf", "spacetools_cell.urdf")) as f:
        robot_description = f.read()
    # a parameter file's sections are keyed by node name, which a namespace would no longer match:
    # its values are passed on as parameters instead
    sim_params = node_parameters(os.path.join(share, "config", "sim_node.yaml"), "spacetools_sim")
    recorder_params = node_parameters(os.path.join(share, "config", "recorder.yaml"), "spacetools_recorder")
    return LaunchDescription([
        DeclareLaunchArgument("scene", default_value=os.path.join(share, "config", "scenes", "box_in_bowl.yaml")),
        DeclareLaunchArgument("record", default_value="", description="bag directory; empty = no recording"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of every node (e.g. robot1); empty = none"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="every node takes its time from /clock (published by the sim node)"),
        Node(package="spacetools_ros", executable="spacetools_sim", name="spacetools_sim", output="screen",
             namespace=namespace, parameters=[sim_params, {"scene": scene}, sim_time]),
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             namespace=namespace, parameters=[{"robot_description": robot_description}, sim_time]),
        Node(package="spacetools_ros", executable="spacetools_recorder", name="spacetools_recorder", output="screen",
             namespace=namespace, parameters=[recorder_params, {"output": record}, sim_time],
             condition=IfCondition(PythonExpression(["'", record, "' != ''"]))),
    ])

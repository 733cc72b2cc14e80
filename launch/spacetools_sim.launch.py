"""Embedded world on a ROS 2 install: sim node, robot_state_publisher, RViz and the recorder.

    ros2 launch spacetools_ros spacetools_sim.launch.py
    ros2 launch spacetools_ros spacetools_sim.launch.py rviz:=true            # + RViz with config/spacetools.rviz
    ros2 launch spacetools_ros spacetools_sim.launch.py namespace:=robot1 use_sim_time:=true

Needs (besides this package): robot_state_publisher (rsp:=true, the default) and rviz2 (rviz:=true).
robot_state_publisher gets urdf/spacetools_cell.urdf and turns the sim's joint_states into the arm's
frames on /tf; the camera's optical frame comes from the sim node instead (the pose of the camera
in the scene it simulates, on /tf_static), so it is taken out of the description given to
robot_state_publisher. Every node runs in ``namespace`` (default: none), so its topics and services
move together (/clock, /tf, /tf_static and /diagnostics stay global); ``use_sim_time`` is passed
to every node (the sim node publishes /clock).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from spacetools_ros.core.description import without_links
from spacetools_ros.ros import topics
from spacetools_ros.ros.bringup import node_parameters


def generate_launch_description():
    share = get_package_share_directory("spacetools_ros")
    scene = LaunchConfiguration("scene")
    record = LaunchConfiguration("record")
    namespace = LaunchConfiguration("namespace")
    sim_time = {"use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)}
    with open(os.path.join(share, "urdf", "spacetools_cell.urdf")) as f:
        # the sim node publishes the camera's optical frame (publish_tf): one parent per frame
        robot_description = without_links(f.read(), [topics.optical_frame("scene")])
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
        DeclareLaunchArgument("rsp", default_value="true",
                              description="start robot_state_publisher (the arm's frames on /tf from joint_states)"),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 (with config/spacetools.rviz)"),
        Node(package="spacetools_ros", executable="spacetools_sim", name="spacetools_sim", output="screen",
             namespace=namespace, parameters=[sim_params, {"scene": scene}, sim_time]),
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             namespace=namespace, parameters=[{"robot_description": robot_description}, sim_time],
             condition=IfCondition(LaunchConfiguration("rsp"))),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen", namespace=namespace,
             arguments=["-d", os.path.join(share, "config", "spacetools.rviz")], parameters=[sim_time],
             condition=IfCondition(LaunchConfiguration("rviz"))),
        Node(package="spacetools_ros", executable="spacetools_recorder", name="spacetools_recorder", output="screen",
             namespace=namespace, parameters=[recorder_params, {"output": record}, sim_time],
             condition=IfCondition(PythonExpression(["'", record, "' != ''"]))),
    ])

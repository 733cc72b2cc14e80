"""Toolshed replicas on a ROS 2 install: N vision replicas (and optionally one robot-tools replica).

    ros2 launch spacetools_ros spacetools_toolshed.launch.py replicas:=2
    SPACETOOLS_SESSION_KEY=<the agent's key> ros2 launch spacetools_ros spacetools_toolshed.launch.py robot:=true
    ros2 launch spacetools_ros spacetools_toolshed.launch.py namespace:=robot1   # the toolshed of /robot1's agent

Vision replicas never act on a robot (robot_tools false). With robot:=true one more replica,
robot0, drives the robot through its topics (world ros, robot_tools true); it serves robot tools
only to requests signed with the agent's session key, so SPACETOOLS_SESSION_KEY must be set (to the
key the agent uses) in the environment of this launch; without it that replica refuses to start.
The toolshed's services are relative (toolshed/<replica_id>/...): replicas serve the agent of their own
``namespace``.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from spacetools_ros.ros.bringup import node_parameters


def _replicas(context):
    share = get_package_share_directory("spacetools_ros")
    # passed on as parameters: a file's node-name keys would not match under a namespace
    params = node_parameters(os.path.join(share, "config", "tool_server.yaml"), "spacetools_tool_server")
    n = int(LaunchConfiguration("replicas").perform(context))
    scene = LaunchConfiguration("scene").perform(context)
    namespace = LaunchConfiguration("namespace")
    sim_time = {"use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)}
    nodes = []
    for i in range(n):
        nodes.append(Node(package="spacetools_ros", executable="spacetools_tool_server", name=f"spacetools_tool_server_{i}",
                          output="screen", namespace=namespace,
                          parameters=[params, {"replica_id": f"vision{i}", "scene": scene, "tools": ["all"],
                                               "robot_tools": False}, sim_time]))
    if LaunchConfiguration("robot").perform(context).lower() in ("true", "1"):
        nodes.append(Node(package="spacetools_ros", executable="spacetools_tool_server",
                          name="spacetools_tool_server_robot", output="screen", namespace=namespace,
                          parameters=[params, {"replica_id": "robot0", "scene": scene, "world": "ros",
                                               "robot_tools": True, "motion": LaunchConfiguration("motion")},
                                      sim_time]))
    return nodes


def generate_launch_description():
    share = get_package_share_directory("spacetools_ros")
    return LaunchDescription([
        DeclareLaunchArgument("replicas", default_value="2"),
        DeclareLaunchArgument("scene", default_value=os.path.join(share, "config", "scenes", "box_in_bowl.yaml")),
        DeclareLaunchArgument("robot", default_value="false",
                              description="also start robot0, the replica that drives the robot (needs "
                                          "SPACETOOLS_SESSION_KEY in the environment)"),
        DeclareLaunchArgument("motion", default_value="embedded", description="robot0's motion: embedded | moveit"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of every replica (the agent's namespace); empty = none"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="every replica takes its time from /clock"),
        OpaqueFunction(function=_replicas),
    ])

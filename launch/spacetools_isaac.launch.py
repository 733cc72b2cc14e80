"""The agent acting on a Panda simulated in NVIDIA Isaac Sim, through Isaac Sim's ROS 2 bridge.

    ros2 launch spacetools_ros spacetools_isaac.launch.py cell:=/path/cell.yaml
    ros2 launch spacetools_ros spacetools_isaac.launch.py color_image_topic:=front/rgb \\
        depth_image_topic:=front/depth camera_info_topic:=front/camera_info rviz:=true
    ros2 launch spacetools_ros spacetools_isaac.launch.py namespace:=robot1

Needs a ROS 2 install with robot_state_publisher (rsp:=true, the default) and rviz2 (rviz:=true),
plus this package and spacetools_interfaces; Isaac Sim runs on its own, with its ROS 2 bridge
extension enabled and an action graph that publishes /clock, the joint states and the camera
(ROS2 Camera Helper: rgb, depth in metres (32FC1), camera_info), all in ``namespace``.

This launch starts no simulator: only robot_state_publisher (``description``, default the
package's urdf/spacetools_cell.urdf, whose scene camera joint Isaac's camera must then match or be
left out of), rviz2 if asked, and spacetools_agent with world:=ros, whose topics are the launch
arguments below (defaults: Isaac's camera helper names, joint_states, and the command topics of
the controllers arm_controller and gripper_controller). The arm must be driven through a
joint_trajectory_controller (trajectory_msgs/JointTrajectory on ``arm_trajectory_topic``) and the
gripper through a controller taking the finger opening in metres (std_msgs/Float64MultiArray,
one value, on ``gripper_command_topic``): in Isaac Sim that is ros2_control with
topic_based_ros2_control bridging Isaac's joint command and joint state topics, started with its
own controller configuration. The agent serves the spacetools/execute action and draws on
spacetools/markers. ``cell`` gives the camera pose in the base frame (or camera_pose_source:=tf
when Isaac publishes the camera frame on TF under the images' frame_id). Every node runs in
``namespace``; /clock, /tf, /tf_static and /diagnostics stay global; ``use_sim_time`` (default
true: Isaac's /clock) is passed to every node. DDS discovery stays on this host unless
ROS_AUTOMATIC_DISCOVERY_RANGE is set: with Isaac Sim on another machine, set it to SUBNET (and the
same ROS_DOMAIN_ID on both).
"""

import os

# the agent's topic parameters, their launch arguments' defaults (relative names) and meaning
TOPIC_ARGUMENTS = (
    ("color_image_topic", "rgb", "colour image (sensor_msgs/Image, rgb8/bgr8)"),
    ("depth_image_topic", "depth", "depth image registered to the colour one (32FC1, metres)"),
    ("camera_info_topic", "camera_info", "the colour camera's CameraInfo"),
    ("joint_states_topic", "joint_states", "arm and finger joint states"),
    ("arm_trajectory_topic", "arm_controller/joint_trajectory", "a joint_trajectory_controller's command topic"),
    ("gripper_command_topic", "gripper_controller/commands", "finger opening, Float64MultiArray [width_m]"),
)


def generate_launch_description():
    from ament_index_python.packages import get_package_share_directory
    from launch.actions import DeclareLaunchArgument
    from launch.conditions import IfCondition
    from launch.substitutions import Command, LaunchConfiguration
    from launch_ros.actions import Node
    from launch_ros.parameter_descriptions import ParameterValue

    from launch import LaunchDescription
    from spacetools_ros.ros.bringup import node_parameters

    share = get_package_share_directory("spacetools_ros")
    namespace = LaunchConfiguration("namespace")
    sim_time = {"use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)}
    agent_params = node_parameters(os.path.join(share, "config", "agent.yaml"), "spacetools_agent")
    robot_description = ParameterValue(Command(["xacro ", LaunchConfiguration("description")]), value_type=str)
    topic_params = {name: LaunchConfiguration(name) for name, _, _ in TOPIC_ARGUMENTS}
    return LaunchDescription([
        DeclareLaunchArgument("cell", default_value=os.path.join(share, "config", "scenes", "box_in_bowl.yaml"),
                              description="cell file: the camera pose in the base frame (objects are perceived)"),
        DeclareLaunchArgument("camera_pose_source", default_value="cell",
                              description="the camera pose: cell (the cell file) | tf (looked up on TF)"),
        *[DeclareLaunchArgument(name, default_value=default, description=what)
          for name, default, what in TOPIC_ARGUMENTS],
        DeclareLaunchArgument("camera_qos", default_value="auto",
                              description="auto | sensor_data | reliable (see config/agent.yaml)"),
        DeclareLaunchArgument("motion", default_value="embedded", description="embedded | moveit"),
        DeclareLaunchArgument("policy", default_value="scripted", description="scripted | openai | local"),
        DeclareLaunchArgument("policy_url", default_value=""),
        DeclareLaunchArgument("model", default_value=""),
        DeclareLaunchArgument("rsp", default_value="true", description="start robot_state_publisher"),
        DeclareLaunchArgument("description", default_value=os.path.join(share, "urdf", "spacetools_cell.urdf"),
                              description="URDF or xacro for robot_state_publisher"),
        DeclareLaunchArgument("rviz", default_value="false", description="start rviz2 (with config/spacetools.rviz)"),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of every node; empty = none"),
        DeclareLaunchArgument("use_sim_time", default_value="true", description="take time from Isaac Sim's /clock"),
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             namespace=namespace, parameters=[{"robot_description": robot_description}, sim_time],
             remappings=[("joint_states", LaunchConfiguration("joint_states_topic"))],
             condition=IfCondition(LaunchConfiguration("rsp"))),
        Node(package="rviz2", executable="rviz2", name="rviz2", output="screen", namespace=namespace,
             arguments=["-d", os.path.join(share, "config", "spacetools.rviz")], parameters=[sim_time],
             remappings=[("camera/color/image_raw", LaunchConfiguration("color_image_topic"))],
             condition=IfCondition(LaunchConfiguration("rviz"))),
        Node(package="spacetools_ros", executable="spacetools_agent", name="spacetools_agent", output="screen",
             namespace=namespace,
             parameters=[agent_params,
                         {"world": "ros", "scene": LaunchConfiguration("cell"), "motion": LaunchConfiguration("motion"),
                          "policy": LaunchConfiguration("policy"), "policy_url": LaunchConfiguration("policy_url"),
                          "model": LaunchConfiguration("model"), "camera_qos": LaunchConfiguration("camera_qos"),
                          "camera_pose_source": LaunchConfiguration("camera_pose_source"),
                          "ready_timeout_s": 60.0, **topic_params}, sim_time]),
    ])

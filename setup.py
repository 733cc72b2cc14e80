"""ament_python / pip setup for spacetools_ros."""

import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "spacetools_ros"

# In a sourced ROS 2 environment (colcon build) executables go to lib/<package>, where
# `ros2 run` and launch files look for them; a plain pip install keeps them on PATH (bin/).
ROS_LAYOUT = bool(os.environ.get("AMENT_PREFIX_PATH"))
SCRIPT_OPTIONS = (
    {"develop": {"script_dir": f"$base/lib/{PACKAGE}"}, "install": {"install_scripts": f"$base/lib/{PACKAGE}"}}
    if ROS_LAYOUT else {}
)

setup(
    name=PACKAGE,
    options=SCRIPT_OPTIONS,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "benchmarks"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.rviz")),
        (f"share/{PACKAGE}/config/scenes", glob("config/scenes/*.yaml")),
        (f"share/{PACKAGE}/config/tools", glob("config/tools/*.json")),
        (f"share/{PACKAGE}/urdf", glob("urdf/*")),
    ],
    # The ROS 2 client libraries come from the ROS install (colcon) or from the PyPI ros-*
    # wheels (see requirements/embedded.txt); they are not hard requirements here.
    install_requires=["numpy", "pyyaml"],
    extras_require={
        "sim": ["mujoco>=3.2", "ompl>=2.0", "opencv-python-headless", "rosbags>=0.10"],
        "test": ["pytest"],
    },
    python_requires=">=3.10",
    zip_safe=True,
    maintainer="spacetools_ros maintainers",
    maintainer_email="maintainers@spacetools-ros.invalid",
    description="Language-driven pick-and-place for a 7-DoF arm with a tool-using VLM, on ROS 2.",
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "spacetools = spacetools_ros.cli.main:main",
            "spacetools_sim = spacetools_ros.ros.sim_node:main",
            "spacetools_recorder = spacetools_ros.ros.recorder_node:main",
            "spacetools_bringup = spacetools_ros.ros.bringup:main",
            "spacetools_tool_server = spacetools_ros.ros.tool_server_node:main",
            "spacetools_agent = spacetools_ros.ros.agent_node:main",
        ],
    },
)

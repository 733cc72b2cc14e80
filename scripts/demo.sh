#!/usr/bin/env bash
# Installs (first run) and runs the embedded demo: a box into a bowl, leaving JSON, video and bag in out/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_env.sh
export MUJOCO_GL=${MUJOCO_GL:-egl} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
OUT=out/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
.venv/bin/spacetools pick-place --scene config/scenes/box_in_bowl.yaml --pick red_block --place-on blue_bowl \
  --record "$OUT/bag" --video "$OUT/episode.mp4" --json "$OUT/result.json"
echo "[demo] result: $OUT/result.json  video: $OUT/episode.mp4  bag: $OUT/bag"

#!/usr/bin/env bash
# Installs (first run) and runs the embedded demo: "put the red block in the blue bowl" carried out by the
# offline agent, leaving the JSON result, a video with the tool results drawn in, and a bag in out/demo-*.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_env.sh
export MUJOCO_GL=${MUJOCO_GL:-egl} ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST ROS_LOCALHOST_ONLY=1
OUT=out/demo-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
.venv/bin/spacetools run --scene config/scenes/box_in_bowl.yaml --command "put the red block in the blue bowl" \
  --record "$OUT/bag" --video "$OUT/episode.mp4" --json "$OUT/result.json"
echo "[demo] result: $OUT/result.json  video: $OUT/episode.mp4  bag: $OUT/bag"

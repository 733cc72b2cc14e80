#!/usr/bin/env bash
# Serves the SpaceTools checkpoint (Qwen2.5-VL-3B) with vLLM's OpenAI-compatible server on a GPU machine.
# Usage: scripts/serve_spacetools_vllm.sh /path/to/spacetools-ckpt [PORT]
# Before the first start the checkpoint needs the fixes its authors document: remove "text_config" from
# config.json, set "tie_word_embeddings": true, and use the base Qwen2.5-VL-3B preprocessor_config.json.
# Tool calls stay raw <tool_call> text in the reply (no tool-call parser): the orchestrator parses them.
set -euo pipefail
CKPT=${1:?path to the checkpoint folder}
PORT=${2:-8000}
exec vllm serve "$CKPT" --served-model-name spacetools --host 0.0.0.0 --port "$PORT" \
  --dtype bfloat16 --max-model-len 8192 --limit-mm-per-prompt '{"image": 8}' --generation-config vllm

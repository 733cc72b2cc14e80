"""Multi-turn rollouts with live tools, token in / token out, for GRPO.

One rollout asks a model one task of a ``data gen`` dataset: the prompt is the question loop's
system prompt (tools block) and user turn (the task's images), laid out as token ids
(``ChatTokens``, the layout of inference and SFT). The model samples a turn until ``<|im_end|>``;
its tool calls are parsed (never executed as code), checked against their schemas and run in the
task's world (the scene rebuilt from the row's ground truth, the toolshed); the results are
appended as the user turn of ``<tool_response>`` blocks plus the next assistant header — tokens the
model did not write, so their mask (``env_mask``) is 0 and they carry no loss. At most ``max_turns``
assistant turns; tool responses are cut to ``max_tool_response_chars``. The reward is computed from
the final assistant message by the category's reward (``reward_for``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.conversation import Message, format_tool_responses, parse_assistant
from ..core.tools.protocol import ToolCallError, validate_call

REWARD_MODES = ("spacetools", "r1")


@dataclass(frozen=True)
class RolloutSettings:
    """Limits and sampling of one rollout (SpaceTools' RL loop: 8 assistant turns, tool responses cut
    to 2048 characters).

    Attributes:
        max_turns: assistant turns.
        max_new_tokens: tokens sampled per turn.
        temperature / top_p: sampling (temperature 0: greedy).
        max_tool_response_chars: each tool response is cut to this.
        max_tool_calls: tool calls over the rollout.
        max_total_tokens: prompt + completion; the rollout stops before exceeding it.
        tools: the tools offered (None: every vision tool).
        reward: ``spacetools`` (the category's task reward) or ``r1`` (3D-R1's weighted total), with
            ``reward_by_category`` overriding it per category.
    """

    max_turns: int = 8
    max_new_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    max_tool_response_chars: int = 2048
    max_tool_calls: int = 16
    max_total_tokens: int = 8192
    tools: tuple[str, ...] | None = None
    reward: str = "spacetools"
    reward_by_category: dict[str, str] = field(default_factory=dict)


@dataclass
class Rollout:
    """One rollout, as the trainer needs it and as the metrics count it."""

    task_id: str
    category: str
    prompt_ids: list[int]
    completion_ids: list[int]
    env_mask: list[int]
    logprobs: list[float]
    reward: float
    success: bool
    answer: str | None
    final_text: str
    turns: int
    valid_calls: int
    invalid_calls: int
    truncated: bool
    messages: list[Message]
    seconds: dict[str, float]

    def summary(self) -> dict[str, Any]:
        """The numbers (no token lists)."""
        return {"task_id": self.task_id, "category": self.category, "reward": self.reward, "success": self.success,
                "turns": self.turns, "valid_calls": self.valid_calls, "invalid_calls": self.invalid_calls,
                "truncated": self.truncated, "completion_tokens": len(self.completion_ids),
                "model_tokens": int(sum(self.env_mask)), "seconds": self.seconds}


def r1_truth_boxes(category: str, truth: dict) -> list | None:
    """Axis-aligned 3D boxes of a task's truth for 3D-R1's perception term (box tasks: the box of the
    8 corners in the robot base frame), None for categories without one."""
    if category == "box3d_corners":
        c = np.asarray(truth["corners_base_m"], float)
        return [list(c.min(axis=0)) + list(c.max(axis=0))]
    return None


def reward_for(category: str, final_text: str | None, row: dict, mode: str, embed=None) -> float:
    """The reward of a final assistant message.

    ``spacetools``: the category's task reward as ``spacetools bench`` scores it. ``r1``: 3D-R1's
    0.3 format + 0.4 perception + 0.3 semantic (sentence embeddings of the answer and the reference
    answer; the MiniLM stand-in for CLIP's text encoder); for categories whose truth has no 3D box the
    perception term is left out and format and semantic are weighted 0.5 / 0.5.

    Raises:
        ValueError: an unknown mode.
    """
    from ..compose.bench import score_task
    from ..core.rewards import answer_text, format_reward, r1_total, semantic_reward

    if mode == "spacetools":
        return score_task(category, final_text, row["truth"])
    if mode != "r1":
        raise ValueError(f"reward must be one of {', '.join(REWARD_MODES)}, got {mode!r}")
    if not final_text:
        return 0.0
    if embed is None:
        from ..backends.text_embedding import minilm_embedder

        embed = minilm_embedder()
    boxes = r1_truth_boxes(category, row["truth"])
    if boxes is not None:
        return r1_total(final_text, boxes, row["answer"], embed)
    answer = answer_text(final_text)
    semantic = semantic_reward(answer, row["answer"], embed) if answer else 0.0
    return 0.5 * format_reward(final_text) + 0.5 * semantic


class TaskWorld:
    """The worlds of tasks: toolsheds (one per side-word frame) and the frames of the current scene
    (re-rendered when the scene changes)."""

    def __init__(self, tools: tuple[str, ...] | None = None) -> None:
        from ..compose.bench import _toolsheds, _vision_tools

        self.sheds = _toolsheds()
        names = _vision_tools(self.sheds["camera"])
        if tools is not None:
            unknown = [t for t in tools if t not in names]
            if unknown:
                raise ValueError(f"not vision tools: {', '.join(unknown)[:200]}")
            names = list(tools)
        self.names = names
        self._scene: tuple[str, dict] | None = None

    def frames(self, row: dict) -> dict:
        """The rendered cameras of a row's scene (cached for consecutive rows of one scene)."""
        from ..learning.frames import scene_frames

        if self._scene is None or self._scene[0] != row["scene_id"]:
            self._scene = (row["scene_id"], scene_frames(row["truth"]))
        return self._scene[1]

    def open(self, row: dict):
        """(episode with the task's images, execute(call) -> ToolResult, schemas of the offered tools)."""
        from ..compose.bench import ROBOT_FRAME_NOTE, _offered_only, task_cameras
        from ..backends.tools.toolshed import Episode
        from ..core.orchestrator import ToolResult

        frames = self.frames(row)
        episode = Episode()
        for cam in task_cameras(row):
            episode.images.append(frames[cam])
        shed = self.sheds["robot" if ROBOT_FRAME_NOTE in row["question"] else "camera"]

        def execute(call) -> ToolResult:
            r = shed.execute(call, episode)
            return ToolResult(r.text, r.ok, r.data)

        return episode, _offered_only(execute, self.names), {n: shed.schemas[n] for n in self.names}


class Sampler:
    """Samples assistant turns from a transformers Qwen2.5-VL model (the trainer's weights)."""

    def __init__(self, model, processor) -> None:
        from ..backends.policy.local_vlm import ChatTokens

        self.model = model
        self.processor = processor
        self.layout = ChatTokens(processor.tokenizer)
        self.merge = int(getattr(model.config.vision_config, "spatial_merge_size", 2)) ** 2

    def images(self, rgbs: list[np.ndarray]) -> tuple[dict, list[int]]:
        """Model inputs of the images and the <|image_pad|> count of each."""
        from ..backends.policy.local_vlm import image_inputs

        return image_inputs(self.processor.image_processor, rgbs, self.merge)

    def sample(self, ids: list[int], pixels: dict, max_new_tokens: int, temperature: float,
               top_p: float) -> tuple[list[int], list[float]]:
        """New token ids (ending with <|im_end|> unless cut) and their log-probabilities under the
        sampling distribution (logits / temperature)."""
        import torch

        dev = next(self.model.parameters()).device
        x = torch.tensor([ids], dtype=torch.long, device=dev)
        kw = {k: v.to(dev) for k, v in pixels.items()}
        greedy = temperature <= 0
        with torch.no_grad():
            out = self.model.generate(input_ids=x, attention_mask=torch.ones_like(x), **kw,
                                      max_new_tokens=max_new_tokens, do_sample=not greedy,
                                      temperature=None if greedy else temperature, top_p=None if greedy else top_p,
                                      top_k=None, eos_token_id=self.layout.im_end, suppress_tokens=self.layout.suppress_ids,
                                      pad_token_id=self.processor.tokenizer.pad_token_id,
                                      return_dict_in_generate=True, output_logits=True)
        new = out.sequences[0, x.shape[1]:].tolist()
        logits = torch.stack(out.logits, dim=0)[:, 0, :].float()
        if not greedy:
            logits = logits / temperature
        lp = torch.log_softmax(logits, dim=-1)
        return new, [float(lp[i, t]) for i, t in enumerate(new)]


def rollout_task(sampler: Sampler, world: TaskWorld, row: dict, settings: RolloutSettings, embed=None,
                 turn_texts: list[str] | None = None) -> Rollout:
    """One rollout of one task (see the module text). ``turn_texts``: assistant turns given as text
    instead of sampled (for checks; their tokens are the layout's), else the sampler's."""
    from ..core.qa_loop import qa_system_prompt
    from ..core.rewards import KEEP_THRESHOLDS

    seconds = {"render": 0.0, "generation": 0.0, "tools": 0.0}
    t = time.perf_counter()
    episode, execute, schemas = world.open(row)
    seconds["render"] += time.perf_counter() - t
    lay = sampler.layout
    try:
        system = qa_system_prompt(schemas, list(schemas), None, True)
        messages = [Message("system", system), Message("user", row["question"], list(range(len(episode.images))))]
        pixels, pads = sampler.images([f.rgb for f in episode.images])
        prompt = lay.prompt_ids(messages, pads)
        completion: list[int] = []
        mask: list[int] = []
        logprobs: list[float] = []
        final, answer, truncated = "", None, False
        turns = valid = invalid = calls_made = 0
        for turn in range(settings.max_turns):
            budget = min(settings.max_new_tokens, settings.max_total_tokens - len(prompt) - len(completion))
            if budget < 1:
                truncated = True
                break
            t = time.perf_counter()
            if turn_texts is not None:
                text = turn_texts[turn] if turn < len(turn_texts) else ""
                new = lay.text_ids(text) + [lay.im_end]
                lps = [0.0] * len(new)
            else:
                new, lps = sampler.sample(prompt + completion, pixels, budget, settings.temperature, settings.top_p)
            seconds["generation"] += time.perf_counter() - t
            completion += new
            mask += [1] * len(new)
            logprobs += lps
            turns += 1
            ended = bool(new) and new[-1] == lay.im_end
            text = sampler.processor.tokenizer.decode(new[:-1] if ended else new, skip_special_tokens=True)
            final = text
            messages.append(Message("assistant", text))
            if not ended:
                truncated = True
                break
            parsed = parse_assistant(text)
            invalid += len(parsed.errors)
            if not parsed.calls:
                answer = parsed.answer
                break
            texts = list(parsed.errors)
            t = time.perf_counter()
            for call in parsed.calls:
                if calls_made >= settings.max_tool_calls:
                    texts.append("Error: RuntimeError: tool call limit reached")
                    continue
                calls_made += 1
                try:
                    validate_call(call, schemas, len(episode.images))
                    valid += 1
                except ToolCallError:
                    invalid += 1
                texts.append(execute(call).text[: settings.max_tool_response_chars])
            seconds["tools"] += time.perf_counter() - t
            content = format_tool_responses(texts)
            messages.append(Message("user", content))
            env = lay.text_ids("\n") + lay.message_ids("user", content, []) + lay.assistant_header()
            if len(prompt) + len(completion) + len(env) >= settings.max_total_tokens:
                truncated = True
                break
            completion += env
            mask += [0] * len(env)
            logprobs += [0.0] * len(env)
    finally:
        episode.close()
    mode = settings.reward_by_category.get(row["category"], settings.reward)
    reward = reward_for(row["category"], final if answer is not None else None, row, mode, embed)
    return Rollout(row["id"], row["category"], prompt, completion, mask, logprobs, float(reward),
                   reward > KEEP_THRESHOLDS[row["category"]], answer, final, turns, valid, invalid, truncated,
                   messages, seconds)

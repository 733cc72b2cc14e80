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

The rollouts of a batch run in lock step (``rollout_tasks``): each turn, one ``sample_many`` call
for every rollout still running (a transformers ``Sampler`` samples them one by one, the vLLM
sampler in ``workers`` in one engine call), then one ``execute_many`` of their tool calls on the
worlds (``LocalEnvs`` here, or Ray actors).
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


@dataclass
class Opened:
    """A task opened in its world: the images the model sees and the tools offered."""

    rgbs: list[np.ndarray]
    schemas: dict
    seconds: float


class LocalEnvs:
    """Tasks' worlds in this process: ``open`` / ``execute`` / ``close`` by a key per rollout."""

    def __init__(self, world: TaskWorld) -> None:
        self.world = world
        self._open: dict[int, tuple[Any, Any]] = {}

    def open_many(self, items: list[tuple[int, dict]]) -> list[Opened]:
        out = []
        for key, row in items:
            t = time.perf_counter()
            episode, execute, schemas = self.world.open(row)
            self._open[key] = (episode, execute)
            out.append(Opened([f.rgb for f in episode.images], schemas, time.perf_counter() - t))
        return out

    def execute_many(self, items: list[tuple[int, list]]) -> list[tuple[list[str], float]]:
        """Each key's calls run in its episode: (result texts, seconds) per key."""
        out = []
        for key, calls in items:
            t = time.perf_counter()
            execute = self._open[key][1]
            out.append(([execute(c).text for c in calls], time.perf_counter() - t))
        return out

    def close_many(self, keys: list[int]) -> None:
        for key in keys:
            episode, _ = self._open.pop(key, (None, None))
            if episode is not None:
                episode.close()


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

    def sample_many(self, requests: list[tuple[list[int], Any, int]], temperature: float,
                    top_p: float) -> list[tuple[list[int], list[float]]]:
        """``sample`` for each (ids, images, max_new_tokens) in turn."""
        return [self.sample(ids, px, budget, temperature, top_p) for ids, px, budget in requests]

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


@dataclass
class _Live:
    """One rollout while it runs."""

    key: int
    row: dict
    schemas: dict
    n_images: int
    images: Any
    prompt: list[int]
    messages: list[Message]
    seconds: dict[str, float]
    turn_texts: list[str] | None = None
    completion: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    final: str = ""
    answer: str | None = None
    truncated: bool = False
    done: bool = False
    turns: int = 0
    valid: int = 0
    invalid: int = 0
    calls_made: int = 0


def rollout_task(sampler: Sampler, world: TaskWorld, row: dict, settings: RolloutSettings, embed=None,
                 turn_texts: list[str] | None = None) -> Rollout:
    """One rollout of one task in ``world`` (see ``rollout_tasks``)."""
    return rollout_tasks(sampler, LocalEnvs(world), [row], settings, embed, [turn_texts])[0]


def rollout_tasks(sampler, envs, rows: list[dict], settings: RolloutSettings, embed=None,
                  turn_texts: list[list[str] | None] | None = None) -> list[Rollout]:
    """Rollouts of ``rows`` in lock step (see the module text): each turn, one ``sampler.sample_many``
    for every rollout still running, then one ``envs.execute_many`` for the tool calls they made.
    ``envs``: ``LocalEnvs`` or any object with its three methods (e.g. Ray actors' worlds).
    ``turn_texts``: per row, assistant turns given as text instead of sampled (for checks; their
    tokens are the layout's), else None."""
    from ..core.qa_loop import qa_system_prompt

    lay = sampler.layout
    keys = list(range(len(rows)))
    opened = envs.open_many(list(zip(keys, rows)))
    live = []
    try:
        for key, row, op in zip(keys, rows, opened):
            system = qa_system_prompt(op.schemas, list(op.schemas), None, True)
            messages = [Message("system", system), Message("user", row["question"], list(range(len(op.rgbs))))]
            images, pads = sampler.images(op.rgbs)
            live.append(_Live(key, row, op.schemas, len(op.rgbs), images, lay.prompt_ids(messages, pads), messages,
                              {"render": op.seconds, "generation": 0.0, "tools": 0.0},
                              turn_texts[key] if turn_texts else None))
        for _ in range(settings.max_turns):
            _turn(sampler, envs, [r for r in live if not r.done], settings)
    finally:
        envs.close_many(keys)
    return [_finish(r, settings, embed) for r in live]


def _turn(sampler, envs, running: list[_Live], settings: RolloutSettings) -> None:
    """One assistant turn of every running rollout, then their tool calls."""
    lay = sampler.layout
    asked = []
    for r in running:
        budget = min(settings.max_new_tokens, settings.max_total_tokens - len(r.prompt) - len(r.completion))
        if budget < 1:
            r.truncated = r.done = True
        else:
            asked.append((r, budget))
    scripted = [(r, b) for r, b in asked if r.turn_texts is not None]
    sampled = [(r, b) for r, b in asked if r.turn_texts is None]
    outs: dict[int, tuple[list[int], list[float]]] = {}
    for r, _ in scripted:
        text = r.turn_texts[r.turns] if r.turns < len(r.turn_texts) else ""
        new = lay.text_ids(text) + [lay.im_end]
        outs[r.key] = (new, [0.0] * len(new))
    if sampled:
        t = time.perf_counter()
        got = sampler.sample_many([(r.prompt + r.completion, r.images, b) for r, b in sampled],
                                  settings.temperature, settings.top_p)
        share = (time.perf_counter() - t) / len(sampled)
        for (r, b), (new, lps) in zip(sampled, got):
            outs[r.key] = (list(new)[:b], list(lps)[:b])
            r.seconds["generation"] += share
    calling = []
    for r, _ in asked:
        new, lps = outs[r.key]
        r.completion += new
        r.mask += [1] * len(new)
        r.logprobs += lps
        r.turns += 1
        ended = bool(new) and new[-1] == lay.im_end
        text = sampler.processor.tokenizer.decode(new[:-1] if ended else new, skip_special_tokens=True)
        r.final = text
        r.messages.append(Message("assistant", text))
        if not ended:
            r.truncated = r.done = True
            continue
        parsed = parse_assistant(text)
        r.invalid += len(parsed.errors)
        if not parsed.calls:
            r.answer, r.done = parsed.answer, True
            continue
        texts: list[str | None] = list(parsed.errors)
        run = []
        for call in parsed.calls:
            if r.calls_made >= settings.max_tool_calls:
                texts.append("Error: RuntimeError: tool call limit reached")
                continue
            r.calls_made += 1
            try:
                validate_call(call, r.schemas, r.n_images)
                r.valid += 1
            except ToolCallError:
                r.invalid += 1
            texts.append(None)  # filled with this call's result, in order
            run.append(call)
        calling.append((r, texts, run))
    results = envs.execute_many([(r.key, run) for r, _, run in calling]) if calling else []
    for (r, texts, _), (got, seconds) in zip(calling, results):
        r.seconds["tools"] += seconds
        it = iter(got)
        content = format_tool_responses([next(it)[: settings.max_tool_response_chars] if t is None else t
                                         for t in texts])
        r.messages.append(Message("user", content))
        env = lay.text_ids("\n") + lay.message_ids("user", content, []) + lay.assistant_header()
        if len(r.prompt) + len(r.completion) + len(env) >= settings.max_total_tokens:
            r.truncated = r.done = True
            continue
        r.completion += env
        r.mask += [0] * len(env)
        r.logprobs += [0.0] * len(env)


def _finish(r: _Live, settings: RolloutSettings, embed) -> Rollout:
    from ..core.rewards import KEEP_THRESHOLDS

    row = r.row
    mode = settings.reward_by_category.get(row["category"], settings.reward)
    reward = reward_for(row["category"], r.final if r.answer is not None else None, row, mode, embed)
    return Rollout(row["id"], row["category"], r.prompt, r.completion, r.mask, r.logprobs, float(reward),
                   reward > KEEP_THRESHOLDS[row["category"]], r.answer, r.final, r.turns, r.valid, r.invalid,
                   r.truncated, r.messages, r.seconds)

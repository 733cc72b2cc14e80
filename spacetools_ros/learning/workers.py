"""Rollout workers: each owns a copy of the policy's weights, its own worlds (scenes rebuilt from the
tasks' ground truth) and toolsheds, and runs rollouts of the tasks it is given.

``LocalPool`` runs them in the trainer's process on the trainer's own model. ``RayPool`` runs N
workers as Ray actors (``ray.init()`` on this machine, or ``ray_address`` of a running cluster: the
same code); before every batch the trainer's weights are sent to every actor (one object in Ray's
store), the batch is split round robin and gathered back in order.

``VLLMPool`` generates through the trainer's vLLM engine instead (TRL's ``VLLMGeneration``,
colocated or a vLLM server; TRL loads the trainer's weights into it before every batch): each turn
of every running rollout is one batched generate call, and the worlds run in this process or as N
Ray actors (``EnvWorker``), which then only render and run tools.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .rollout import LocalEnvs, Opened, Rollout, RolloutSettings, Sampler, TaskWorld, rollout_tasks


class RolloutWorker:
    """One worker: a model copy (or the trainer's model), a processor, the worlds of its tasks."""

    def __init__(self, model_dir: str | None, settings: RolloutSettings, min_pixels: int, max_pixels: int,
                 model=None, threads: int | None = None) -> None:
        import torch

        from .processor import load_processor

        if threads:
            torch.set_num_threads(threads)
        if model is None:
            from transformers import AutoModelForImageTextToText

            model = AutoModelForImageTextToText.from_pretrained(model_dir, local_files_only=True).eval()
        self.settings = settings
        self.sampler = Sampler(model, load_processor(model_dir, min_pixels, max_pixels))
        self.world = TaskWorld(settings.tools)
        self._embed = None

    def set_weights(self, state: dict) -> None:
        """Load the trainer's current weights."""
        self.sampler.model.load_state_dict(state, strict=False)

    def embed(self):
        if self._embed is None:
            self._embed = reward_embedder(self.settings)
        return self._embed

    def run(self, rows: list[dict]) -> list[Rollout]:
        """Rollouts of ``rows`` in order (the model switched to eval mode while sampling)."""
        model = self.sampler.model
        was_training = model.training
        model.eval()
        try:
            return rollout_tasks(self.sampler, LocalEnvs(self.world), rows, self.settings, self.embed())
        finally:
            model.train(was_training)


def reward_embedder(settings: RolloutSettings):
    """The sentence embedder 3D-R1's semantic reward needs, None when no category uses it."""
    if settings.reward == "r1" or "r1" in settings.reward_by_category.values():
        from ..backends.text_embedding import minilm_embedder

        return minilm_embedder()
    return None


def _unwrap(trainer):
    return trainer.accelerator.unwrap_model(trainer.model)


def _start_ray(n: int, address: str | None):
    """Ray, started here (this machine only, nothing listening beyond loopback) or joined at
    ``address``; returns (ray, whether this call started it)."""
    import ray

    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(n, 1) + 1, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    return ray, started


class _RayActors:
    """N Ray actors of one class, killed with the Ray this set started (``close``)."""

    def __init__(self, n: int, address: str | None, cls, cpus_per_worker: float, *args) -> None:
        self.ray, self.started = _start_ray(n, address)
        actor = self.ray.remote(num_cpus=cpus_per_worker)(cls)
        self.actors = [actor.remote(*args) for _ in range(n)]

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
        if self.started:
            self.ray.shutdown()


class LocalPool:
    """Rollouts in this process on the trainer's model (no copy, no weight transfer)."""

    workers = 0

    def __init__(self, model_dir: str, settings: RolloutSettings, min_pixels: int, max_pixels: int, model) -> None:
        self.worker = RolloutWorker(model_dir, settings, min_pixels, max_pixels, model=model)

    def run(self, rows: list[dict], trainer) -> tuple[list[Rollout], dict[str, float]]:
        t = time.perf_counter()
        out = self.worker.run(rows)
        return out, {"sync": 0.0, "rollouts": time.perf_counter() - t}

    def close(self) -> None:
        pass


class RayPool(_RayActors):
    """``n`` Ray actors, each a ``RolloutWorker`` with its own model copy."""

    def __init__(self, n: int, model_dir: str, settings: RolloutSettings, min_pixels: int, max_pixels: int,
                 address: str | None = None, cpus_per_worker: float = 1.0) -> None:
        super().__init__(n, address, RolloutWorker, cpus_per_worker, model_dir, settings, min_pixels, max_pixels, None,
                         max(int(cpus_per_worker), 1))
        self.workers = n

    def run(self, rows: list[dict], trainer) -> tuple[list[Rollout], dict[str, float]]:
        t = time.perf_counter()
        state = {k: v.detach().to("cpu") for k, v in _unwrap(trainer).state_dict().items()}
        ref = self.ray.put(state)
        self.ray.get([a.set_weights.remote(ref) for a in self.actors])
        sync = time.perf_counter() - t
        n = len(self.actors)
        parts = [rows[i::n] for i in range(n)]
        results = self.ray.get([a.run.remote(p) for a, p in zip(self.actors, parts) if p])
        out: list[Any] = [None] * len(rows)
        for i, res in enumerate(results):
            for j, r in enumerate(res):
                out[i + j * n] = r
        return out, {"sync": sync, "rollouts": time.perf_counter() - t - sync}


class VLLMSampler:
    """Samples turns through TRL's ``VLLMGeneration`` (the trainer's ``vllm_generation``): one
    generate call for a batch of conversations given as token ids and their images (PIL), the
    sampled tokens' log-probabilities back for TRL's importance-sampling correction. The images are
    processed by the engine with the checkpoint's own preprocessor settings (``engine_images``),
    which must give the <|image_pad|> counts this side lays out.

    Raises:
        ConfigError: (``images``) the two disagree on an image's token count.
    """

    def __init__(self, generation, processor, merge: int, engine_images) -> None:
        from ..backends.policy.local_vlm import ChatTokens

        self.generation = generation
        self.processor = processor
        self.layout = ChatTokens(processor.tokenizer)
        self.merge = merge
        self.engine_images = engine_images
        self._pads: dict[tuple[int, int], int] = {}  # image (height, width) -> its <|image_pad|> count

    def images(self, rgbs: list) -> tuple[list, list[int]]:
        from PIL import Image

        return [Image.fromarray(x) for x in rgbs], [self._pad_count(x.shape[:2]) for x in rgbs]

    def _pad_count(self, shape: tuple[int, int]) -> int:
        """The image-token count of an image of this size, the same on both sides (worked out once
        per size: it depends on the size alone)."""
        if shape not in self._pads:
            from ..backends.policy.local_vlm import image_inputs
            from ..core.errors import ConfigError

            blank = [np.zeros((*shape, 3), np.uint8)]
            _, ours = image_inputs(self.processor.image_processor, blank, self.merge)
            _, theirs = image_inputs(self.engine_images, blank, self.merge)
            if ours != theirs:
                raise ConfigError(f"generation: vllm sizes these images to {theirs} image tokens (the checkpoint's "
                                  f"preprocessor_config.json), min_pixels/max_pixels of this config to {ours}: set "
                                  "the checkpoint's numbers")
            self._pads[shape] = ours[0]
        return self._pads[shape]

    def sample_many(self, requests: list[tuple[list[int], list, int]], temperature: float,
                    top_p: float) -> list[tuple[list[int], list[float]]]:
        gen = self.generation
        gen.max_completion_length = max(b for _, _, b in requests)
        gen.temperature, gen.top_p = max(float(temperature), 0.0), float(top_p)  # vLLM: temperature 0 = greedy
        images = [imgs or None for _, imgs, _ in requests]
        _, completions, logprobs, _ = gen.generate(prompts=[list(ids) for ids, _, _ in requests],
                                                   images=images if any(images) else None, num_generations=1)
        logprobs = logprobs if logprobs is not None else [None] * len(completions)
        return [(list(c), [float(x[0]) for x in lp] if lp is not None else [0.0] * len(c))
                for c, lp in zip(completions, logprobs)]


def vllm_generation_kwargs(tokenizer) -> dict:
    """What every vLLM request adds to TRL's sampling settings: stop at <|im_end|> (a turn's end), and
    never sample the markup's image/video markers (a sampled <|image_pad|> breaks the trainer's image
    features)."""
    from ..backends.policy.local_vlm import ChatTokens

    lay = ChatTokens(tokenizer)
    # int keys: SamplingParams takes them as they are; a server request's JSON writes them as strings
    return {"stop_token_ids": [lay.im_end], "logit_bias": {int(i): -100.0 for i in lay.suppress_ids}}


def engine_image_processor(model_dir: str):
    """The image processor vLLM builds from the checkpoint folder (its ``preprocessor_config.json``).

    Raises:
        ConfigError: the folder has none that loads.
    """
    from ..core.errors import ConfigError
    from .processor import Qwen2VLImageProcessorPil

    try:
        return Qwen2VLImageProcessorPil.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, TypeError) as e:
        raise ConfigError(f"generation: vllm needs {model_dir}/preprocessor_config.json (how vLLM sizes the "
                          f"images): {str(e)[:200]}") from None


class EnvWorker:
    """A Ray actor's worlds: ``LocalEnvs`` over its own ``TaskWorld``."""

    def __init__(self, tools: tuple[str, ...] | None) -> None:
        self.envs = LocalEnvs(TaskWorld(tools))

    def open_many(self, items: list[tuple[int, dict]]) -> list[Opened]:
        return self.envs.open_many(items)

    def execute_many(self, items: list[tuple[int, list]]) -> list[tuple[list[str], float]]:
        return self.envs.execute_many(items)

    def close_many(self, keys: list[int]) -> None:
        self.envs.close_many(keys)


class RayEnvs(_RayActors):
    """``LocalEnvs``' interface over N ``EnvWorker`` actors: rollout ``key`` lives on actor
    ``key % N``; each call goes to every actor concerned at once and is gathered back in order."""

    def __init__(self, n: int, tools: tuple[str, ...] | None, address: str | None = None,
                 cpus_per_worker: float = 1.0) -> None:
        super().__init__(n, address, EnvWorker, cpus_per_worker, tools)

    def _scatter(self, method: str, items: list) -> list:
        n = len(self.actors)
        parts: dict[int, list[int]] = {}
        for i, item in enumerate(items):
            parts.setdefault((item[0] if isinstance(item, tuple) else item) % n, []).append(i)
        refs = {a: getattr(self.actors[a], method).remote([items[i] for i in idx]) for a, idx in parts.items()}
        out: list[Any] = [None] * len(items)
        for a, idx in parts.items():
            for i, res in zip(idx, self.ray.get(refs[a]) or [None] * len(idx)):
                out[i] = res
        return out

    def open_many(self, items):
        return self._scatter("open_many", items)

    def execute_many(self, items):
        return self._scatter("execute_many", items)

    def close_many(self, keys):
        self._scatter("close_many", keys)


class VLLMPool:
    """Rollouts generated by the trainer's vLLM engine; worlds in this process (0 workers) or on N
    Ray actors."""

    def __init__(self, n: int, model_dir: str, settings: RolloutSettings, min_pixels: int, max_pixels: int,
                 address: str | None = None) -> None:
        from .processor import load_processor

        self.settings = settings
        self.workers = n
        self.processor = load_processor(model_dir, min_pixels, max_pixels)
        self.engine_images = engine_image_processor(model_dir)
        self.envs = RayEnvs(n, settings.tools, address) if n > 0 else LocalEnvs(TaskWorld(settings.tools))
        self.embed = reward_embedder(settings)
        self.sampler: VLLMSampler | None = None

    def run(self, rows: list[dict], trainer) -> tuple[list[Rollout], dict[str, float]]:
        t = time.perf_counter()
        if self.sampler is None:
            merge = int(getattr(_unwrap(trainer).config.vision_config, "spatial_merge_size", 2)) ** 2
            self.sampler = VLLMSampler(trainer.vllm_generation, self.processor, merge, self.engine_images)
        out = rollout_tasks(self.sampler, self.envs, rows, self.settings, self.embed)
        return out, {"sync": 0.0, "rollouts": time.perf_counter() - t}

    def close(self) -> None:
        if isinstance(self.envs, RayEnvs):
            self.envs.close()


def make_pool(workers: int, model_dir: str, settings: RolloutSettings, min_pixels: int, max_pixels: int, model,
              ray_address: str | None = None, vllm: bool = False):
    """``VLLMPool`` when generating with vLLM, else ``LocalPool`` for 0 workers, else ``RayPool``."""
    if vllm:
        return VLLMPool(workers, model_dir, settings, min_pixels, max_pixels, ray_address)
    if workers <= 0:
        return LocalPool(model_dir, settings, min_pixels, max_pixels, model)
    return RayPool(workers, model_dir, settings, min_pixels, max_pixels, ray_address)

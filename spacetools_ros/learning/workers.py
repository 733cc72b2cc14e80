"""Rollout workers: each owns a copy of the policy's weights, its own worlds (scenes rebuilt from the
tasks' ground truth) and toolsheds, and runs rollouts of the tasks it is given.

``LocalPool`` runs them in the trainer's process on the trainer's own model. ``RayPool`` runs N
workers as Ray actors (``ray.init()`` on this machine, or ``ray_address`` of a running cluster: the
same code); before every batch the trainer's weights are sent to every actor (one object in Ray's
store), the batch is split round robin and gathered back in order.
"""

from __future__ import annotations

import time
from typing import Any

from .rollout import Rollout, RolloutSettings, Sampler, TaskWorld, rollout_task


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
        if self._embed is None and (self.settings.reward == "r1" or "r1" in self.settings.reward_by_category.values()):
            from ..backends.text_embedding import minilm_embedder

            self._embed = minilm_embedder()
        return self._embed

    def run(self, rows: list[dict]) -> list[Rollout]:
        """Rollouts of ``rows`` in order (the model switched to eval mode while sampling)."""
        model = self.sampler.model
        was_training = model.training
        model.eval()
        try:
            return [rollout_task(self.sampler, self.world, row, self.settings, self.embed()) for row in rows]
        finally:
            model.train(was_training)


class LocalPool:
    """Rollouts in this process on the trainer's model (no copy, no weight transfer)."""

    workers = 0

    def __init__(self, model_dir: str, settings: RolloutSettings, min_pixels: int, max_pixels: int, model) -> None:
        self.worker = RolloutWorker(model_dir, settings, min_pixels, max_pixels, model=model)

    def run(self, rows: list[dict], model) -> tuple[list[Rollout], dict[str, float]]:
        t = time.perf_counter()
        out = self.worker.run(rows)
        return out, {"sync": 0.0, "rollouts": time.perf_counter() - t}

    def close(self) -> None:
        pass


class RayPool:
    """``n`` Ray actors, each a ``RolloutWorker`` with its own model copy."""

    def __init__(self, n: int, model_dir: str, settings: RolloutSettings, min_pixels: int, max_pixels: int,
                 address: str | None = None, cpus_per_worker: float = 1.0) -> None:
        import ray

        self.ray = ray
        self.started = not ray.is_initialized()  # a Ray this pool started is shut down with it
        if self.started:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:  # this machine only, nothing listening beyond loopback
                ray.init(num_cpus=max(n, 1) + 1, include_dashboard=False, log_to_driver=False,
                         _node_ip_address="127.0.0.1")
        actor = ray.remote(num_cpus=cpus_per_worker)(RolloutWorker)
        self.actors = [actor.remote(model_dir, settings, min_pixels, max_pixels, None, max(int(cpus_per_worker), 1))
                       for _ in range(n)]
        self.workers = n

    def run(self, rows: list[dict], model) -> tuple[list[Rollout], dict[str, float]]:
        t = time.perf_counter()
        state = {k: v.detach().to("cpu") for k, v in model.state_dict().items()}
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

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
        if self.started:
            self.ray.shutdown()


def make_pool(workers: int, model_dir: str, settings: RolloutSettings, min_pixels: int, max_pixels: int, model,
              ray_address: str | None = None):
    """``LocalPool`` for 0 workers, else ``RayPool``."""
    if workers <= 0:
        return LocalPool(model_dir, settings, min_pixels, max_pixels, model)
    return RayPool(workers, model_dir, settings, min_pixels, max_pixels, ray_address)

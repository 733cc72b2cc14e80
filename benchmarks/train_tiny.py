"""The DIRL recipe on a CPU, end to end, for several seeds: a tiny Qwen2.5-VL-architecture model (random
init, tokenizer trained on the package's texts) goes through base -> pointing-only RL -> teacher demos
-> SFT -> GRPO with live tools (config/train/dirl_tiny_cpu.yaml), evaluated after each stage on
held-out tasks (val split, other scenes). Prints per stage the valid tool-call rate, mean reward and
success (mean and spread over the seeds) and per category; then rollout throughput with the GRPO stage's
settings in process and with 1 and 2 Ray workers, and where the time of a training step goes.

    python benchmarks/train_tiny.py [--seeds 0 1 2] [--out runs/train_tiny] [--json OUT] [--skip-throughput]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from spacetools_ros.learning.dirl import EVALUATED as STAGES  # noqa: E402 - the stages evaluated on held-out tasks

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "train" / "dirl_tiny_cpu.yaml"
FIGURES = ("valid_tool_call_rate", "mean_reward", "success_rate")


def _spread(xs: list[float]) -> tuple[float, float]:
    """Mean and half the range."""
    return (sum(xs) / len(xs), (max(xs) - min(xs)) / 2) if xs else (0.0, 0.0)


def run_seeds(seeds: list[int], out: Path) -> dict:
    from spacetools_ros.learning.dirl import DIRL
    from spacetools_ros.learning.train_config import read_yaml

    doc = read_yaml(CONFIG)
    shared = out / "tasks"
    per_seed: dict[int, dict] = {}
    for seed in seeds:
        t0 = time.perf_counter()
        run_dir = out / f"seed{seed}"
        over = {"output_dir": str(run_dir), "seed": seed}
        if (shared / "train" / "README.md").is_file():
            over["tasks"] = {"train": {"path": str(shared / "train")}, "heldout": {"path": str(shared / "heldout")}}
        dirl = DIRL(doc, CONFIG.parent, over)
        results = dirl.run()
        if "path" not in dirl.tasks["train"]:  # the first seed made the tasks; the others use them
            shared.mkdir(parents=True, exist_ok=True)
            for name in ("train", "heldout"):
                if not (shared / name).exists():
                    os.symlink(run_dir / "tasks" / name, shared / name)
        per_seed[seed] = {s: json.loads((run_dir / s / "eval.json").read_text()) for s in STAGES}
        per_seed[seed]["seconds"] = {s: results[s].get("seconds") for s in results}
        print(f"[train_tiny] seed {seed} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return per_seed


def throughput(out: Path, seed: int) -> dict:
    """Rollouts per minute with the GRPO stage's settings from the SFT checkpoint: in process, 1 and 2 Ray
    workers (2 training steps each), with the time split of a step."""
    from spacetools_ros.learning.grpo import run_grpo
    from spacetools_ros.learning.train_config import grpo_settings, read_yaml

    doc = read_yaml(CONFIG)
    run_dir = out / f"seed{seed}"
    res = {}
    for workers in (0, 1, 2):
        cfg = {**doc["grpo"], "model": str(run_dir / "sft" / "checkpoint"), "output_dir": str(out / f"tp{workers}"),
               "tasks": str(run_dir / "tasks" / "train") if (run_dir / "tasks" / "train").exists()
               else str(out / "tasks" / "train"),
               "categories": doc["categories"], "tools": doc["tools"], "max_steps": 2, "workers": workers,
               **doc.get("pixels", {})}
        s = run_grpo(grpo_settings(cfg, CONFIG.parent), progress=lambda line: None)
        t = s["rollout_time_s"]
        res[workers] = {"rollouts": s["rollouts"], "rollouts_per_min": round(s["rollouts"] / t["wall_s"] * 60, 1),
                        "generation_s": round(t["generation_s"], 1), "tools_s": round(t["tools_s"], 1),
                        "render_s": round(t["render_s"], 1), "weight_sync_s": round(t["sync_s"], 2),
                        "rollout_wall_s": round(t["wall_s"], 1), "optimisation_s": s["optimisation_s"]}
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default=str(ROOT / "runs" / "train_tiny"))
    p.add_argument("--json", help="write {stages: {STAGE: figures}} (means over the seeds) and the details here")
    p.add_argument("--skip-throughput", action="store_true")
    args = p.parse_args()
    out = Path(args.out).resolve()
    t0 = time.perf_counter()
    per_seed = run_seeds(args.seeds, out)
    wall = time.perf_counter() - t0
    stages = {}
    print(f"DIRL tiny CPU recipe, {len(args.seeds)} seed(s) {args.seeds}, held-out tasks, {wall / 60:.1f} min:")
    print("| stage | valid tool-call rate | mean reward | success |")
    print("|---|---|---|---|")
    for st in STAGES:
        figs = {f: _spread([per_seed[s][st]["overall"][f] for s in args.seeds]) for f in FIGURES}
        stages[st] = {f: round(m, 4) for f, (m, _) in figs.items()} | {f"{f}_spread": round(h, 4) for f, (_, h) in figs.items()}
        print(f"| {st} | " + " | ".join(f"{m:.3f} ± {h:.3f}" for m, h in figs.values()) + " |")
    cats = sorted({c for s in args.seeds for c in per_seed[s]["grpo"]["categories"]})
    print("\nsuccess per category (mean over seeds):")
    print("| stage | " + " | ".join(cats) + " |")
    print("|---|" + "---|" * len(cats))
    for st in STAGES:
        vals = [_spread([per_seed[s][st]["categories"].get(c, {}).get("success_rate", 0.0) for s in args.seeds])[0]
                for c in cats]
        print(f"| {st} | " + " | ".join(f"{v:.0%}" for v in vals) + " |")
    sft, grpo = stages["sft"], stages["grpo"]
    gain = grpo["mean_reward"] - sft["mean_reward"]
    spread = max(grpo["mean_reward_spread"], sft["mean_reward_spread"])
    print(f"\nGRPO - SFT held-out mean reward: {gain:+.3f} (seed spread {spread:.3f}): "
          f"{'above' if gain > spread else 'not above'} the spread")
    doc = {"stages": stages, "per_seed": per_seed, "wall_s": round(wall, 1), "seeds": args.seeds}
    if not args.skip_throughput:
        tp = throughput(out, args.seeds[0])
        doc["throughput"] = tp
        print("\nrollout throughput (GRPO stage settings, 2 steps each):")
        print("| workers | rollouts/min | generation s | tools s | render s | weight sync s | optimisation s |")
        print("|---|---|---|---|---|---|---|")
        for w, r in tp.items():
            print(f"| {'in process' if w == 0 else f'{w} Ray'} | {r['rollouts_per_min']} | {r['generation_s']} | "
                  f"{r['tools_s']} | {r['render_s']} | {r['weight_sync_s']} | {r['optimisation_s']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

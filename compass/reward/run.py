"""``train_reward``: preference pairs → several reward-model runs → weight soup → evaluation.

Every run starts from the same policy checkpoint with a zero-initialised head (so their weights
are comparable and averaging them is meaningful), trains with the shared loop, and differs only in
epochs, learning rate and schedule. The soup is the uniform average of the runs' final weights.
Both are judged by pairwise accuracy on held-out pairs (disjoint prompts) and by Best-of-N
accuracy on verifiable math prompts sampled from the policy.

Output directory::

    run_<i>/   the i-th run (a training run directory: latest → step_*/, metrics.jsonl)
    soup/      the averaged reward model (model.safetensors, model_config.json, reward.json)
    pairs/     train.jsonl, heldout.jsonl (the generated preference data)
    metrics.json
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from compass.data.synth.evalgen import eval_items
from compass.data.synth.world import World
from compass.model.io import load_model, resolve_checkpoint
from compass.reward.bon import best_of_n, pass_at_n, sample_n
from compass.reward.config import RewardConfig, RunSpec
from compass.reward.io import SOUP, save_reward_model, tokenizer_fingerprint
from compass.reward.model import RewardModel, average_weights
from compass.reward.pairs import generate_pairs, read_pairs
from compass.reward.stage import RewardStage, pairwise_accuracy, score_sequences, tokenize_pairs
from compass.reward.verify import check_answer
from compass.tokenizer.locate import tokenizer_for
from compass.train.config import TrainConfig
from compass.train.loop import Trainer
from compass.utils.io import atomic_write_json

log = logging.getLogger(__name__)


def eval_prompts(eval_dir: str | Path | None) -> set[str]:
    """Prompts of the held-out evaluation files: never used to train on."""
    if eval_dir is None:
        return set()
    prompts = set()
    for f in sorted(Path(eval_dir).glob("*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            prompts |= {json.loads(line)["prompt"] for line in fh if line.strip()}
    return prompts


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def run_train_config(cfg: RewardConfig, spec: RunSpec, n_pairs: int) -> TrainConfig:
    tc = TrainConfig.from_dict(cfg.train.to_dict())
    tc.steps = max(1, math.ceil(spec.epochs * n_pairs / tc.micro_batch_size))
    tc.lr, tc.lr_schedule = spec.lr, spec.schedule
    tc.min_lr = min(tc.min_lr, spec.lr)
    tc.warmup_steps = min(tc.steps, round(cfg.warmup_frac * tc.steps))
    tc.validate()
    return tc


def train_run(
    i: int, spec: RunSpec, cfg: RewardConfig, policy: Path, pairs, heldout, pad_id: int, out: Path
) -> RewardModel:
    torch.manual_seed(cfg.seed)
    rm = RewardModel(load_model(policy))
    tc = run_train_config(cfg, spec, len(pairs))
    stage = RewardStage(pairs, tc.micro_batch_size, pad_id, cfg.seed, heldout)
    meta = {"run": i, "epochs": spec.epochs, "policy": str(policy)}
    result = Trainer(rm, stage, tc, out / f"run_{i}", meta=meta).fit()
    log.info(
        "reward run %d (%d epochs, lr %g, %s): %d steps, last loss %.4f",
        i, spec.epochs, spec.lr, spec.schedule, result.step, result.losses[-1] if result.losses
        else float("nan"),
    )  # fmt: skip
    return rm.eval()


def build_pairs(cfg: RewardConfig, world: World, tok, exclude: set[str]):
    skipped: Counter = Counter()
    seq_len = cfg.train.seq_len
    heldout = generate_pairs(world, cfg.langs, cfg.kinds, cfg.heldout_pairs_per_lang_kind,
                             cfg.seed, "pref-heldout", exclude)  # fmt: skip
    taken = exclude | {p["prompt"] for p in heldout}
    train = generate_pairs(world, cfg.langs, cfg.kinds, cfg.train_pairs_per_lang_kind,
                           cfg.seed, "pref-train", taken)  # fmt: skip
    train += read_pairs(cfg.inputs, skipped)
    return train, heldout, tokenize_pairs(tok, train, seq_len, skipped), skipped


def bon_eval(cfg: RewardConfig, policy, tok, world: World, rms: dict, exclude: set[str]):
    """Best-of-N accuracy of each reward model on math prompts the policy answers."""
    from compass.inference.engine import Engine

    items = [
        it for lang in cfg.langs
        for it in eval_items(world, "numerical_reasoning", lang, cfg.bon_prompts_per_lang,
                             cfg.seed, exclude, stream="bon")
    ]  # fmt: skip
    n_max = max(cfg.bon_n)
    engine = Engine(policy, tok, max_batch=64)
    samples = sample_n(engine, tok, [it["prompt"] for it in items], n_max, cfg.bon_temperature,
                       cfg.bon_max_tokens, cfg.seed)  # fmt: skip
    correct = [[check_answer(s.text, it) for s in ss] for it, ss in zip(items, samples)]
    flat = [s.sequence for ss in samples for s in ss]
    out: dict[str, Any] = {"prompts": len(items), "samples_per_prompt": n_max,
                           "pass_at_n": pass_at_n(correct, cfg.bon_n)}  # fmt: skip
    for name, rm in rms.items():
        s = score_sequences(rm, flat, tok.pad_id, cfg.score_batch)
        scores = [s[k * n_max : (k + 1) * n_max] for k in range(len(items))]
        out[name] = best_of_n(correct, scores, cfg.bon_n)
    return out


def train_reward(
    cfg: RewardConfig,
    policy: str | Path,
    out: str | Path,
    world: World,
    tokenizer: str | Path | None = None,
    eval_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Train every run, average them, evaluate; returns the metrics (also in metrics.json)."""
    from compass.tokenizer import load_tokenizer

    t0, out = time.time(), Path(out)
    policy = resolve_checkpoint(policy)
    tok_dir = tokenizer_for(policy, tokenizer)
    tok = load_tokenizer(tok_dir)
    exclude = eval_prompts(eval_dir)
    train, heldout, train_tok, skipped = build_pairs(cfg, world, tok, exclude)
    _write_jsonl(out / "pairs" / "train.jsonl", train)
    _write_jsonl(out / "pairs" / "heldout.jsonl", heldout)
    held_skip: Counter = Counter()
    held_tok = tokenize_pairs(tok, heldout, cfg.train.seq_len, held_skip)
    log.info("reward pairs: %d train, %d held out; skipped %s", len(train_tok), len(held_tok),
             dict(skipped + held_skip) or "none")  # fmt: skip
    rms, states = {}, []
    for i, spec in enumerate(cfg.run_specs()):
        rm = train_run(i, spec, cfg, policy, train_tok, held_tok, tok.pad_id, out)
        rms[f"run_{i}"] = rm
        states.append({k: v.detach().clone() for k, v in rm.state_dict().items()})
    soup = RewardModel(load_model(policy))
    soup.load_state_dict(average_weights(states))
    rms["soup"] = soup.eval()
    meta = {"tokenizer": tokenizer_fingerprint(tok_dir), "policy": str(policy), "runs": cfg.runs}
    save_reward_model(soup, out / SOUP, meta)
    pairwise = {name: pairwise_accuracy(rm, held_tok, tok.pad_id, cfg.score_batch)
                for name, rm in rms.items()}  # fmt: skip
    by_kind = _accuracy_by_kind(soup, tok, heldout, cfg)
    bon = bon_eval(cfg, load_model(policy), tok, world, rms, exclude)
    metrics = {
        "pairs": {"train": len(train_tok), "heldout": len(held_tok),
                  "skipped": dict(skipped + held_skip)},
        "pairwise_accuracy": pairwise,
        "soup_accuracy_by_kind": by_kind,
        "soup_ge_best_run": pairwise["soup"] >= max(v for k, v in pairwise.items() if k != "soup"),
        "best_of_n": bon,
        "wall_s": round(time.time() - t0, 1),
    }  # fmt: skip
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def _accuracy_by_kind(rm, tok, heldout, cfg: RewardConfig) -> dict[str, float]:
    out = {}
    for kind in cfg.kinds:
        sub = tokenize_pairs(tok, [p for p in heldout if p["kind"] == kind], cfg.train.seq_len,
                             Counter())  # fmt: skip
        out[kind] = pairwise_accuracy(rm, sub, tok.pad_id, cfg.score_batch)
    return out

"""``train_reward``: preference pairs → several reward-model runs → weight soup → evaluation.

Every run starts from the same backbone (the policy, or its verifier warm-up,
``compass.posttrain.reward.verifier``) and the same seeded random head (so their weights are
comparable and averaging them is meaningful), trains with the shared loop, and differs in
epochs, learning rate, schedule and the order it reads the pairs in. The soup is the uniform
average of the runs' final weights. Both are judged by pairwise accuracy on held-out pairs
(disjoint prompts) and, when verifiable prompts are given, by Best-of-N accuracy on answers
sampled from the policy.

Output directory::

    run_<i>/   the i-th run (a training run directory: latest → step_*/, metrics.jsonl)
    soup/      the averaged reward model (model.safetensors, model_config.json, reward.json)
    verifier/  the verifier warm-up run the runs start from (when configured)
    pairs/     train.jsonl, heldout.jsonl (the pairs used, after the split)
    metrics.json, best_of_n.png
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from compass.distributed.env import default_device
from compass.model.io import load_model, resolve_checkpoint
from compass.posttrain.answers import check_answer
from compass.posttrain.reward.bon import best_of_n, pass_at_n
from compass.posttrain.reward.config import RewardConfig, RunSpec, parse_run
from compass.posttrain.reward.data import RewardInputs, accuracy_by_kind, load_inputs
from compass.posttrain.reward.io import SOUP, save_reward_model, tokenizer_fingerprint
from compass.posttrain.reward.model import RewardModel, average_weights
from compass.posttrain.reward.onpolicy import policy_pairs
from compass.posttrain.reward.plots import best_of_n_plot
from compass.posttrain.reward.stage import RewardStage, TokPair, pair_wins, tokenize_pairs
from compass.posttrain.reward.verifier import train_verifier, verifier_rows
from compass.posttrain.sampling import sample_n
from compass.posttrain.schedule import epochs_config
from compass.posttrain.scoring import score_sequences
from compass.tokenizer.locate import tokenizer_for
from compass.train.loop import Trainer
from compass.utils.io import atomic_write_json, write_jsonl

log = logging.getLogger(__name__)


@dataclass
class RewardData:
    """Tokenised data every run trains on and is judged on."""

    train: list[TokPair]
    heldout: list[TokPair]
    lm_rows: list  # verified solutions for the LM anchor: (ids, loss mask) rows
    pad_id: int
    think_ids: tuple[int, int]


def new_reward_model(cfg: RewardConfig, backbone: Path, think_ids: tuple[int, int]) -> RewardModel:
    """The backbone (the policy or its verifier warm-up) with the shared seeded head (and the
    likelihood term if configured)."""
    torch.manual_seed(cfg.seed)
    think = think_ids if cfg.likelihood_term else None
    return RewardModel(
        load_model(backbone), head_seed=cfg.seed, think_ids=think, lp_scale=cfg.likelihood_scale
    )


def train_run(
    name: str,
    seed: int,
    spec: RunSpec,
    cfg: RewardConfig,
    backbone: Path,
    data: RewardData,
    out: Path,
    start: dict[str, torch.Tensor] | None = None,
) -> RewardModel:
    """One run from the backbone with the shared seeded head, or from ``start`` (the base run's
    weights); ``seed`` orders its pairs (and its LM-anchor solutions)."""
    rm = new_reward_model(cfg, backbone, data.think_ids)
    if start is not None:
        rm.load_state_dict(start)
    tc = epochs_config(
        cfg.train,
        spec.epochs,
        len(data.train),
        lr=spec.lr,
        schedule=spec.schedule,
        warmup_frac=cfg.warmup_frac,
    )
    stage = RewardStage(
        data.train,
        tc.micro_batch_size,
        data.pad_id,
        seed,
        data.heldout,
        data.lm_rows,
        cfg.lm_batch,
        cfg.lm_coef,
        cfg.verifier.seq_len,
    )
    meta = {"run": name, "epochs": spec.epochs, "backbone": str(backbone)}
    result = Trainer(rm, stage, tc, out / name, meta=meta).fit()
    last = result.losses[-1] if result.losses else float("nan")
    log.info(
        "reward %s (%g epochs, lr %g, %s): %d steps, last loss %.4f",
        name,
        spec.epochs,
        spec.lr,
        spec.schedule,
        result.step,
        last,
    )
    return rm.eval()


@torch.no_grad()
def drop_fast_likelihood(rm: RewardModel) -> None:
    """Zero the weight of the likelihood term on replies without reasoning: it is trained with
    the head so the head does not learn what it explains, then left out of every score
    (product-of-experts debiasing, Clark et al. 2019). On those replies the backbone's LM is
    close to the policy's and would reward the policy's own greedy answers
    (docs/reward-model.md)."""
    rm.lp_scale[1] = 0.0


def _state(rm: RewardModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in rm.state_dict().items()}


def on_policy_pairs(cfg: RewardConfig, engine, tok, items, skipped: Counter):
    """The policy's right vs wrong answers to the on-policy prompts."""
    pairs, toks = policy_pairs(
        engine,
        tok,
        items,
        cfg.policy_samples,
        cfg.policy_pairs_per_prompt,
        cfg.bon_temperature,
        cfg.bon_max_tokens,
        cfg.seed + 17,
        cfg.bon_thinking,
        skipped,
    )
    keep = [i for i, (c, r) in enumerate(toks) if max(len(c), len(r)) <= cfg.train.seq_len]
    if len(keep) < len(toks):
        skipped[f"longer than seq_len={cfg.train.seq_len}"] += len(toks) - len(keep)
    log.info("reward: %d on-policy math pairs from %d prompts", len(keep), len(items))
    return [pairs[i] for i in keep], [toks[i] for i in keep]


def bon_eval(cfg: RewardConfig, engine, tok, items: list[dict[str, Any]], rms: dict):
    """Best-of-N accuracy of each reward model on verifiable prompts the policy answers."""
    if not items:
        return {"skipped": "no verifiable prompts (reward.bon_prompts)"}
    n_max = max(cfg.bon_n)
    samples = sample_n(
        engine,
        tok,
        [it["prompt"] for it in items],
        n_max,
        cfg.bon_temperature,
        cfg.bon_max_tokens,
        cfg.seed,
        enable_thinking=cfg.bon_thinking,
    )
    correct = [[check_answer(s.text, it) for s in ss] for it, ss in zip(items, samples)]
    flat = [s.sequence for ss in samples for s in ss]
    out: dict[str, Any] = {
        "thinking": cfg.bon_thinking,
        "prompts": len(items),
        "samples_per_prompt": n_max,
        "pass_at_n": pass_at_n(correct, cfg.bon_n),
    }
    for name, rm in rms.items():
        s = score_sequences(rm, flat, tok.pad_id, cfg.score_batch)
        scores = [s[k * n_max : (k + 1) * n_max] for k in range(len(items))]
        out[name] = best_of_n(correct, scores, cfg.bon_n)
    return out


def train_runs(cfg: RewardConfig, backbone: Path, data: RewardData, out: Path) -> dict:
    """The base run (if any), every configured run, and their soup, by name."""
    rms, states, start = {}, [], None
    if cfg.base_run:
        base = train_run(
            "base", cfg.seed, parse_run(cfg.base_run, "reward.base_run"), cfg, backbone, data, out
        )
        rms["base"], start = base, _state(base)
    # One shared start (backbone and head) but each run its own data order: the runs then
    # differ by more than their schedules, and averaging them cancels part of that noise.
    for i, spec in enumerate(cfg.run_specs()):
        rm = train_run(f"run_{i}", cfg.seed + 1 + i, spec, cfg, backbone, data, out, start)
        rms[f"run_{i}"] = rm
        states.append(_state(rm))
    soup = new_reward_model(cfg, backbone, data.think_ids)
    soup.load_state_dict(average_weights(states))
    rms["soup"] = soup.eval()
    if soup.lp_scale is not None and not cfg.fast_likelihood_at_use:
        for rm in rms.values():
            drop_fast_likelihood(rm)
    return rms


def _tokenize(cfg: RewardConfig, tok, inputs: RewardInputs, engine) -> tuple[RewardData, list]:
    skipped = inputs.skipped
    train_tok = tokenize_pairs(tok, inputs.train, cfg.train.seq_len, skipped)
    if inputs.policy:
        pol_pairs, pol_tok = on_policy_pairs(cfg, engine, tok, inputs.policy, skipped)
        inputs.train, train_tok = inputs.train + pol_pairs, train_tok + pol_tok
    held_kept: list[int] = []
    held_tok = tokenize_pairs(tok, inputs.heldout, cfg.train.seq_len, skipped, held_kept)
    lm_rows = (
        verifier_rows(
            cfg.verifier_inputs, tok, cfg.verifier.seq_len, inputs.held_prompts(), skipped
        )
        if cfg.verifier_inputs
        else []
    )
    think = (tok.think_start_id, tok.think_end_id)
    return RewardData(train_tok, held_tok, lm_rows, tok.pad_id, think), held_kept


def train_reward(
    cfg: RewardConfig, policy: str | Path, out: str | Path, tokenizer: str | Path | None = None
) -> dict[str, Any]:
    """Train every run, average them, evaluate; returns the metrics (also in metrics.json)."""
    from compass.inference.engine import Engine
    from compass.tokenizer import load_tokenizer

    t0, out = time.time(), Path(out)
    inputs = load_inputs(cfg)
    policy = resolve_checkpoint(policy)
    tok_dir = tokenizer_for(policy, tokenizer)
    tok = load_tokenizer(tok_dir)
    engine = Engine(load_model(policy).to(default_device()), tok, max_batch=64)
    data, held_kept = _tokenize(cfg, tok, inputs, engine)
    if not data.train:
        raise ValueError(f"reward: no usable training pair left ({dict(inputs.skipped)})")
    write_jsonl(inputs.train, out / "pairs" / "train.jsonl")
    write_jsonl(inputs.heldout, out / "pairs" / "heldout.jsonl")
    log.info(
        "reward pairs: %d train, %d held out; skipped %s",
        len(data.train),
        len(data.heldout),
        dict(inputs.skipped) or "none",
    )
    backbone, verifier = policy, None
    if data.lm_rows:
        backbone, verifier = train_verifier(cfg, policy, tok, data.lm_rows, out / "verifier")
    rms = train_runs(cfg, backbone, data, out)
    meta = {"tokenizer": tokenizer_fingerprint(tok_dir), "policy": str(policy), "runs": cfg.runs}
    save_reward_model(rms["soup"], out / SOUP, meta)
    wins = {
        name: pair_wins(rm, data.heldout, tok.pad_id, cfg.score_batch) for name, rm in rms.items()
    }
    pairwise = {name: sum(w) / len(w) if w else float("nan") for name, w in wins.items()}
    bon = bon_eval(cfg, engine, tok, inputs.bon, rms)
    runs = [v for k, v in pairwise.items() if k.startswith("run_")]
    metrics = {
        "pairs": {
            "train": len(data.train),
            "heldout": len(data.heldout),
            "skipped": dict(inputs.skipped),
        },
        "verifier": verifier,
        "pairwise_accuracy": pairwise,
        "soup_accuracy_by_kind": accuracy_by_kind(wins["soup"], inputs.heldout, held_kept),
        "soup_ge_best_run": bool(runs) and pairwise["soup"] >= max(runs),
        "best_of_n": bon,
        "wall_s": round(time.time() - t0, 1),
    }
    atomic_write_json(out / "metrics.json", metrics)
    if "pass_at_n" in bon:
        best_of_n_plot(bon, out / "best_of_n.png")
    return metrics


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """What ``compass reward`` and ``compass run`` print."""
    bon = metrics["best_of_n"]
    return {
        "pairs": metrics["pairs"],
        "pairwise_accuracy": {k: round(v, 3) for k, v in metrics["pairwise_accuracy"].items()},
        "soup_ge_best_run": metrics["soup_ge_best_run"],
        "best_of_n": {
            k: {n: round(a, 3) for n, a in v.items()} if isinstance(v, dict) else v
            for k, v in bon.items()
        },
        "wall_s": metrics["wall_s"],
    }

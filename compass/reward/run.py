"""``train_reward``: preference pairs → several reward-model runs → weight soup → evaluation.

Every run starts from the same backbone (the policy, or its verifier warm-up,
``compass.reward.verifier``) and the same seeded random head (so their
weights are comparable and averaging them is meaningful), trains with the shared loop, and differs
in epochs, learning rate, schedule and the order it reads the pairs in. The soup is the uniform
average of the runs' final weights.
Both are judged by pairwise accuracy on held-out pairs (disjoint prompts) and by Best-of-N
accuracy on verifiable math prompts sampled from the policy.

Output directory::

    run_<i>/   the i-th run (a training run directory: latest → step_*/, metrics.jsonl)
    soup/      the averaged reward model (model.safetensors, model_config.json, reward.json)
    verifier/  the verifier warm-up run the runs start from (when configured)
    pairs/     train.jsonl, heldout.jsonl (the generated preference data)
    metrics.json, best_of_n.png
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

from compass.data.synth.world import World
from compass.distributed.env import default_device
from compass.model.io import load_model, resolve_checkpoint
from compass.reward.bon import best_of_n, pass_at_n, sample_n
from compass.reward.config import RewardConfig, RunSpec, parse_run
from compass.reward.io import SOUP, save_reward_model, tokenizer_fingerprint
from compass.reward.math_items import math_items
from compass.reward.model import RewardModel, average_weights
from compass.reward.onpolicy import policy_pairs
from compass.reward.pairs import generate_pairs, read_pairs
from compass.reward.plots import best_of_n_plot
from compass.reward.stage import RewardStage, pair_wins, score_sequences, tokenize_pairs
from compass.reward.verifier import train_verifier, verifier_rows
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


def new_reward_model(cfg: RewardConfig, backbone: Path, think_ids: tuple[int, int]) -> RewardModel:
    """The backbone (the policy or its verifier warm-up) with the shared seeded head (and the
    likelihood term if configured)."""
    torch.manual_seed(cfg.seed)
    think = think_ids if cfg.likelihood_term else None
    return RewardModel(
        load_model(backbone), head_seed=cfg.seed, think_ids=think, lp_scale=cfg.likelihood_scale
    )


def train_run(
    name: str, seed: int, spec: RunSpec, cfg: RewardConfig, backbone: Path,
    start: dict[str, torch.Tensor] | None, pairs, heldout, lm_rows, pad_id: int, out: Path,
    think_ids: tuple[int, int],
) -> RewardModel:  # fmt: skip
    """One run from the backbone with the shared seeded head, or from ``start`` (the base run's
    weights); ``seed`` orders its pairs (and its LM-anchor solutions, ``lm_rows``)."""
    rm = new_reward_model(cfg, backbone, think_ids)
    if start is not None:
        rm.load_state_dict(start)
    tc = run_train_config(cfg, spec, len(pairs))
    stage = RewardStage(pairs, tc.micro_batch_size, pad_id, seed, heldout, lm_rows,
                        cfg.lm_batch, cfg.lm_coef, cfg.verifier.seq_len)  # fmt: skip
    meta = {"run": name, "epochs": spec.epochs, "backbone": str(backbone)}
    result = Trainer(rm, stage, tc, out / name, meta=meta).fit()
    log.info(
        "reward %s (%g epochs, lr %g, %s): %d steps, last loss %.4f",
        name, spec.epochs, spec.lr, spec.schedule, result.step, result.losses[-1] if result.losses
        else float("nan"),
    )  # fmt: skip
    return rm.eval()


@torch.no_grad()
def drop_fast_likelihood(rm: RewardModel) -> None:
    """Zero the weight of the likelihood term on replies without reasoning: it is trained with
    the head so the head does not learn what it explains, then left out of every score
    (product-of-experts debiasing, Clark et al. 2019). On those replies the backbone's LM is
    close to the policy's and would reward the policy's own greedy answers: online DPO on the
    tiny policy then lowered the mean reward (-4.13 -> -4.22) where the same soup without it
    raised it (-2.10 -> -2.02), fast-mode math 0.094 -> 0.094 vs 0.109."""
    rm.lp_scale[1] = 0.0


def _state(rm: RewardModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in rm.state_dict().items()}


def build_pairs(cfg: RewardConfig, world: World, tok, exclude: set[str]):
    skipped: Counter = Counter()
    seq_len = cfg.train.seq_len
    heldout = generate_pairs(world, cfg.langs, cfg.kinds, cfg.heldout_pairs_per_lang_kind,
                             cfg.seed, "pref-heldout", exclude)  # fmt: skip
    taken = exclude | {p["prompt"] for p in heldout}
    train = generate_pairs(world, cfg.langs, cfg.kinds, cfg.train_pairs_per_lang_kind,
                           cfg.seed, "pref-train", taken, cfg.kind_pairs_per_lang)  # fmt: skip
    train += read_pairs(cfg.inputs, skipped)
    return train, heldout, tokenize_pairs(tok, train, seq_len, skipped), skipped


def bon_items(cfg: RewardConfig, world: World, exclude: set[str]) -> list[dict[str, Any]]:
    """The verifiable math prompts Best-of-N is judged on (kept out of the training pairs)."""
    return [
        it for lang in cfg.langs
        for it in math_items(world, cfg.bon_task, lang, cfg.bon_prompts_per_lang, cfg.seed,
                             exclude, stream="bon")
    ]  # fmt: skip


def on_policy_pairs(cfg: RewardConfig, engine, tok, world: World, exclude: set[str], skipped):
    """The policy's right vs wrong answers to training math prompts (none of ``exclude``)."""
    items = [
        it for lang in cfg.langs
        for it in math_items(world, cfg.bon_task, lang, cfg.policy_prompts_per_lang, cfg.seed,
                             exclude, stream="rm-policy")
    ]  # fmt: skip
    pairs, toks = policy_pairs(
        engine, tok, items, cfg.policy_samples, cfg.policy_pairs_per_prompt, cfg.bon_temperature,
        cfg.bon_max_tokens, cfg.seed + 17, cfg.bon_thinking, skipped,
    )  # fmt: skip
    keep = [i for i, (c, r) in enumerate(toks) if max(len(c), len(r)) <= cfg.train.seq_len]
    if len(keep) < len(toks):
        skipped[f"longer than seq_len={cfg.train.seq_len}"] += len(toks) - len(keep)
    log.info("reward: %d on-policy math pairs from %d prompts", len(keep), len(items))
    return [pairs[i] for i in keep], [toks[i] for i in keep]


def bon_eval(cfg: RewardConfig, engine, tok, items: list[dict[str, Any]], rms: dict):
    """Best-of-N accuracy of each reward model on math prompts the policy answers."""
    n_max = max(cfg.bon_n)
    samples = sample_n(engine, tok, [it["prompt"] for it in items], n_max, cfg.bon_temperature,
                       cfg.bon_max_tokens, cfg.seed, enable_thinking=cfg.bon_thinking)  # fmt: skip
    correct = [[check_answer(s.text, it) for s in ss] for it, ss in zip(items, samples)]
    flat = [s.sequence for ss in samples for s in ss]
    out: dict[str, Any] = {"task": cfg.bon_task, "thinking": cfg.bon_thinking,
                           "prompts": len(items), "samples_per_prompt": n_max,
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
    from compass.inference.engine import Engine
    from compass.tokenizer import load_tokenizer

    t0, out = time.time(), Path(out)
    policy = resolve_checkpoint(policy)
    tok_dir = tokenizer_for(policy, tokenizer)
    tok = load_tokenizer(tok_dir)
    exclude = eval_prompts(eval_dir)
    bon = bon_items(cfg, world, exclude)
    exclude |= {it["prompt"] for it in bon}
    train, heldout, train_tok, skipped = build_pairs(cfg, world, tok, exclude)
    engine = Engine(load_model(policy).to(default_device()), tok, max_batch=64)
    if cfg.policy_prompts_per_lang:
        taken = exclude | {p["prompt"] for p in train + heldout}
        pol_pairs, pol_tok = on_policy_pairs(cfg, engine, tok, world, taken, skipped)
        train, train_tok = train + pol_pairs, train_tok + pol_tok
    _write_jsonl(out / "pairs" / "train.jsonl", train)
    _write_jsonl(out / "pairs" / "heldout.jsonl", heldout)
    held_skip: Counter = Counter()
    held_kept: list[int] = []
    held_tok = tokenize_pairs(tok, heldout, cfg.train.seq_len, held_skip, held_kept)
    log.info("reward pairs: %d train, %d held out; skipped %s", len(train_tok), len(held_tok),
             dict(skipped + held_skip) or "none")  # fmt: skip
    backbone, verifier, lm_rows = policy, None, []
    if cfg.verifier_examples or cfg.verifier_inputs:
        held = {p["prompt"] for p in heldout if isinstance(p["prompt"], str)}
        lm_rows = verifier_rows(cfg, tok, exclude | held, skipped)
        backbone, verifier = train_verifier(cfg, policy, tok, lm_rows, out / "verifier")
    rms, states, start = {}, [], None
    think = (tok.think_start_id, tok.think_end_id)
    data = (train_tok, held_tok, lm_rows, tok.pad_id, out, think)
    if cfg.base_run:
        base = train_run("base", cfg.seed, parse_run(cfg.base_run, "reward.base_run"), cfg,
                         backbone, None, *data)  # fmt: skip
        rms["base"], start = base, _state(base)
    # One shared start (backbone and head) but each run its own data order: the runs then
    # differ by more than their schedules, and averaging them cancels part of that noise.
    for i, spec in enumerate(cfg.run_specs()):
        rm = train_run(f"run_{i}", cfg.seed + 1 + i, spec, cfg, backbone, start, *data)
        rms[f"run_{i}"] = rm
        states.append(_state(rm))
    soup = new_reward_model(cfg, backbone, think)
    soup.load_state_dict(average_weights(states))
    rms["soup"] = soup.eval()
    if soup.lp_scale is not None and not cfg.fast_likelihood_at_use:
        for rm in rms.values():
            drop_fast_likelihood(rm)
    meta = {"tokenizer": tokenizer_fingerprint(tok_dir), "policy": str(policy), "runs": cfg.runs}
    save_reward_model(soup, out / SOUP, meta)
    wins = {name: pair_wins(rm, held_tok, tok.pad_id, cfg.score_batch)
            for name, rm in rms.items()}  # fmt: skip
    pairwise = {name: sum(w) / max(len(w), 1) for name, w in wins.items()}
    by_kind = _accuracy_by_kind(wins["soup"], heldout, held_kept, cfg)
    bon = bon_eval(cfg, engine, tok, bon, rms)
    metrics = {
        "pairs": {"train": len(train_tok), "heldout": len(held_tok),
                  "skipped": dict(skipped + held_skip)},
        "verifier": verifier,
        "pairwise_accuracy": pairwise,
        "soup_accuracy_by_kind": by_kind,
        "soup_ge_best_run": pairwise["soup"]
        >= max(v for k, v in pairwise.items() if k.startswith("run_")),
        "best_of_n": bon,
        "wall_s": round(time.time() - t0, 1),
    }  # fmt: skip
    atomic_write_json(out / "metrics.json", metrics)
    best_of_n_plot(bon, out / "best_of_n.png")
    return metrics


def _accuracy_by_kind(wins: list[bool], heldout, kept: list[int], cfg) -> dict[str, float]:
    """The soup's held-out accuracy per pair kind (``kept``: the pairs tokenised, in order)."""
    out = {}
    for kind in cfg.kinds:
        w = [win for win, k in zip(wins, kept) if heldout[k]["kind"] == kind]
        out[kind] = sum(w) / len(w) if w else float("nan")
    return out

"""``run_dpo``: online DPO rounds (report §4.2) on the user's prompts, then the held-out comparison.

Per round: the round's slice of the prompt files → ``n_samples`` answers each from the current
policy (the engine, continuously batched; a new seed per answer) → reward-model scores (+ the
rule check where a prompt has a reference ``answer``) → one pair per prompt
(``compass.posttrain.dpo.select``) → reference log-probs → DPO training with the shared loop. The
reference is the starting policy, frozen. The engine is rebuilt every round so it samples from
the updated weights.

Output directory::

    round_<r>/   the round's training run (metrics.jsonl, checkpoint) and pairs.jsonl
    ckpt/        the final policy (model.safetensors, model_config.json, tokenizer/)
    metrics.json
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from compass.distributed.env import default_device
from compass.model.io import load_model, load_model_config, resolve_checkpoint, save_model
from compass.posttrain.answers import check_answer, has_verifiable_answer
from compass.posttrain.dpo.config import DPOConfig
from compass.posttrain.dpo.evaluate import evaluate_policy, paired_change
from compass.posttrain.dpo.reference import reference_candidate
from compass.posttrain.dpo.select import Candidate, select_pair
from compass.posttrain.dpo.stage import DPOPair, DPOStage
from compass.posttrain.formats import read_prompts
from compass.posttrain.inputs import InputError
from compass.posttrain.language import in_language
from compass.posttrain.reward.io import check_matches, load_reward_model
from compass.posttrain.sampling import sample_n
from compass.posttrain.schedule import epochs_config
from compass.posttrain.scoring import response_logprobs, score_sequences
from compass.posttrain.splits import split_by_prompt
from compass.tokenizer.locate import place_tokenizer, tokenizer_for
from compass.train.loop import Trainer
from compass.utils.io import atomic_write_json, write_jsonl

log = logging.getLogger(__name__)


@dataclass
class DPOContext:
    """What every round needs: the config, the policy being trained, its frozen reference, the
    reward model, the tokenizer and the output directory."""

    cfg: DPOConfig
    model: nn.Module
    ref: nn.Module
    rm: nn.Module
    tok: Any
    out: Path


def make_pairs(ctx: DPOContext, prompts, samples, skipped: Counter):
    """One pair per prompt where the rules allow; also the round's sampling statistics."""
    cfg, tok = ctx.cfg, ctx.tok
    flat = [s.sequence for ss in samples for s in ss]
    scores = score_sequences(ctx.rm, flat, tok.pad_id)
    n = cfg.n_samples
    pairs, rows = [], []
    math_ok: dict[str, list[bool]] = {"fast": [], "deep": []}
    n_ref = 0  # pairs whose chosen answer is the reference solution
    for k, (prompt, ss) in enumerate(zip(prompts, samples)):
        lang = prompt.get("lang", "")
        cands = [
            Candidate(s, scores[k * n + j], in_language(s.text, lang) is not False)
            for j, s in enumerate(ss)
        ]
        skipped["empty response"] += sum(not s.text.strip() for s in ss)
        ref = _reference_if_none_right(ctx, prompt, cands)
        picked = select_pair(prompt, cands + ref, cfg)
        if has_verifiable_answer(prompt):
            mode = "deep" if prompt.get("enable_thinking") else "fast"
            math_ok[mode] += [bool(c.correct) for c in cands if c.correct is not None]
            n_ref += bool(ref) and not isinstance(picked, str)
        if isinstance(picked, str):
            skipped[picked] += 1
            continue
        c, r = picked
        pairs.append(
            DPOPair(
                c.sample.prompt_ids,
                c.sample.token_ids,
                r.sample.token_ids,
                verified=bool(c.correct),
            )
        )
        rows.append(
            {
                "prompt": prompt["prompt"],
                "lang": lang,
                "enable_thinking": bool(prompt.get("enable_thinking")),
                "chosen": c.sample.text,
                "rejected": r.sample.text,
                "reward_chosen": c.reward,
                "reward_rejected": r.reward,
            }
        )
    stats = {"mean_reward": sum(scores) / max(len(scores), 1), "reference_pairs": n_ref}
    for mode, ok in math_ok.items():
        if ok:
            stats[f"math_sample_accuracy_{mode}"] = sum(ok) / len(ok)
    return pairs, rows, stats


def _reference_if_none_right(ctx: DPOContext, prompt, cands) -> list[Candidate]:
    """[the reference reply] for a verifiable prompt none of whose samples is right, with
    ``math_reference``; else []."""
    if not ctx.cfg.math_reference or not has_verifiable_answer(prompt):
        return []
    for c in cands:  # select_pair reuses these verdicts
        if c.sample.text.strip():
            c.correct = check_answer(c.sample.text, prompt)
    if any(c.correct for c in cands):
        return []
    ref = reference_candidate(ctx.tok, prompt, ctx.rm)
    return [ref] if ref is not None else []


def _with_reference(ref, pairs: list[DPOPair]) -> None:
    prompts = [p.prompt_ids for p in pairs] * 2
    responses = [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs]
    lp = response_logprobs(ref, prompts, responses)
    for i, p in enumerate(pairs):
        p.ref_chosen, p.ref_rejected = lp[i], lp[len(pairs) + i]


def with_modes(prompts: list[dict[str, Any]], modes: list[str]) -> list[dict[str, Any]]:
    """A prompt that sets ``enable_thinking`` keeps its mode; a verifiable one without it is
    answered once per mode in ``modes``; any other in fast mode."""
    out = []
    for p in prompts:
        if "enable_thinking" in p:
            out.append(p)
        elif has_verifiable_answer(p):
            out += [{**p, "enable_thinking": m == "deep"} for m in modes]
        else:
            out.append({**p, "enable_thinking": False})
    return out


def sample_prompts(cfg: DPOConfig, engine, tok, prompts: list[dict[str, Any]], seed: int):
    """``n_samples`` answers per prompt, each in its mode (deep: up to ``deep_max_tokens``)."""
    samples: list = [None] * len(prompts)
    for deep in (False, True):
        idx = [i for i, p in enumerate(prompts) if bool(p.get("enable_thinking")) == deep]
        if not idx:
            continue
        got = sample_n(
            engine,
            tok,
            [prompts[i]["prompt"] for i in idx],
            cfg.n_samples,
            cfg.temperature,
            cfg.deep_max_tokens if deep else cfg.max_tokens,
            seed + 104_729 * deep,
            enable_thinking=deep,
            top_p=cfg.top_p,
        )
        for i, ss in zip(idx, got):
            samples[i] = ss
    return samples


def run_round(ctx: DPOContext, r: int, prompts: list[dict[str, Any]]) -> dict[str, Any]:
    from compass.inference.engine import Engine

    cfg, t0 = ctx.cfg, time.time()
    prompts = with_modes(prompts, cfg.math_modes)
    engine = Engine(ctx.model, ctx.tok, max_batch=64)
    samples = sample_prompts(cfg, engine, ctx.tok, prompts, cfg.seed + 7919 * r)
    skipped: Counter = Counter()
    pairs, rows, stats = make_pairs(ctx, prompts, samples, skipped)
    write_jsonl(rows, ctx.out / f"round_{r}" / "pairs.jsonl")
    record = {
        "round": r,
        "prompts": len(prompts),
        "pairs": len(pairs),
        "skipped": dict(skipped),
        **stats,
    }
    if pairs:
        _with_reference(ctx.ref, pairs)
        stage = DPOStage(pairs, cfg.train.micro_batch_size, cfg.beta, cfg.seed + r, cfg.nll_alpha)
        tc = epochs_config(cfg.train, cfg.epochs, len(pairs))
        result = Trainer(ctx.model, stage, tc, ctx.out / f"round_{r}").fit()
        record |= {
            "steps": result.step,
            "loss_first": result.losses[0] if result.losses else None,
            "loss_last": result.losses[-1] if result.losses else None,
        }
    else:
        log.warning("dpo round %d: no pairs (%s); the policy is unchanged", r, dict(skipped))
    record["wall_s"] = round(time.time() - t0, 1)
    log.info("dpo round %d: %s", r, record)
    return record


def load_prompts(cfg: DPOConfig) -> tuple[list[dict], list[dict], Counter]:
    """(training prompts, held-out prompts, skipped rows by reason) from the configured files."""
    if not cfg.prompts:
        raise InputError(
            "dpo: no prompt files — pass --prompts FILE (JSONL/Parquet rows with 'prompt', "
            "optional 'answer', 'lang', 'enable_thinking')"
        )
    skipped: Counter = Counter()
    prompts, _ = read_prompts(cfg.prompts, skipped)
    heldout = read_prompts(cfg.heldout, skipped)[0] if cfg.heldout else None
    train, held = split_by_prompt(prompts, heldout, cfg.heldout_frac, cfg.seed, skipped)
    if len(train) < cfg.rounds:
        raise InputError(
            f"dpo: {len(train)} training prompts for {cfg.rounds} rounds in {cfg.prompts} — "
            "give more prompts or fewer --dpo.rounds"
        )
    return train, held, skipped


def round_slices(prompts: list[dict], rounds: int) -> list[list[dict]]:
    """``rounds`` consecutive slices of the prompts, as even as the count allows."""
    bounds = [round(r * len(prompts) / rounds) for r in range(rounds + 1)]
    return [prompts[bounds[r] : bounds[r + 1]] for r in range(rounds)]


def run_dpo(
    cfg: DPOConfig,
    policy: str | Path,
    reward: str | Path,
    out: str | Path,
    tokenizer: str | Path | None = None,
) -> dict[str, Any]:
    """All rounds, the final policy in ``out/ckpt``, and before/after metrics (metrics.json)."""
    from compass.tokenizer import load_tokenizer

    t0, out = time.time(), Path(out)
    train, heldout, skipped = load_prompts(cfg)
    policy = resolve_checkpoint(policy)
    tok_dir = tokenizer_for(policy, tokenizer)
    check_matches(reward, tok_dir, load_model_config(policy).vocab_size)
    dev = default_device()  # the GPU when there is one: the Trainer moves the policy there too
    ctx = DPOContext(
        cfg,
        load_model(policy),
        load_model(policy).to(dev).eval().requires_grad_(False),
        load_reward_model(reward).to(dev),
        load_tokenizer(tok_dir),
        out,
    )
    log.info(
        "dpo: %d training prompts in %d rounds, %d held out", len(train), cfg.rounds, len(heldout)
    )
    ev = (heldout, cfg.eval_max_tokens, cfg.eval_deep_max_tokens)
    before = evaluate_policy(ctx.ref, ctx.tok, ctx.rm, *ev)
    rounds = [run_round(ctx, r, ps) for r, ps in enumerate(round_slices(train, cfg.rounds))]
    ctx.model.eval()
    save_model(ctx.model, out / "ckpt")
    place_tokenizer(tok_dir, out / "ckpt")
    after = evaluate_policy(ctx.model, ctx.tok, ctx.rm, *ev)
    metrics = {
        "prompts": {"train": len(train), "heldout": len(heldout), "skipped": dict(skipped)},
        "before": before,
        "after": after,
        "change": {
            key: paired_change(before[vec], after[vec])
            for key, vec in (
                ("mean_reward", "rewards"),
                ("math_accuracy", "math_correct"),
                ("deep_math_accuracy", "deep_math_correct"),
            )
        },
        "rounds": rounds,
        "wall_s": round(time.time() - t0, 1),
    }
    atomic_write_json(out / "metrics.json", metrics)
    return metrics


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """What ``compass dpo`` and ``compass run`` print: before/after on the held-out prompts."""
    keys = (
        "mean_reward",
        "math_accuracy",
        "deep_math_accuracy",
        "language_match",
        "deep_mode_closes_think",
    )
    return {
        "prompts": metrics["prompts"],
        "before": {k: round(metrics["before"][k], 4) for k in keys},
        "after": {k: round(metrics["after"][k], 4) for k in keys},
        "change": metrics["change"],
        "pairs_per_round": [r["pairs"] for r in metrics["rounds"]],
        "wall_s": metrics["wall_s"],
    }

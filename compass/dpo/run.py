"""``run_dpo``: online DPO rounds (report §4.2), then the held-out comparison with the start.

Per round: new prompts from each set → ``n_samples`` answers each from the current policy (the
engine, continuously batched; a new seed per answer) → reward-model scores (+ the rule check for
math) → one pair per prompt (``compass.dpo.select``) → reference log-probs → DPO training with
the shared loop. The reference is the starting policy, frozen. The engine is rebuilt every round
so it samples from the updated weights.

Output directory::

    round_<r>/   the round's training run (metrics.jsonl, checkpoint) and pairs.jsonl
    ckpt/        the final policy (model.safetensors, model_config.json, tokenizer/)
    metrics.json
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from compass.data.synth.world import World
from compass.distributed.env import default_device
from compass.dpo.config import DPOConfig
from compass.dpo.evaluate import evaluate_policy, language_identifier
from compass.dpo.prompts import build_prompts, read_prompt_files
from compass.dpo.reference import reference_candidate
from compass.dpo.select import Candidate, select_pair
from compass.dpo.stage import DPOPair, DPOStage, response_logprobs
from compass.model.io import load_model, load_model_config, resolve_checkpoint, save_model
from compass.reward.bon import sample_n
from compass.reward.io import check_matches, load_reward_model
from compass.reward.run import eval_prompts
from compass.reward.stage import score_sequences
from compass.reward.verify import check_answer
from compass.tokenizer.locate import tokenizer_for
from compass.train.config import TrainConfig
from compass.train.loop import Trainer
from compass.utils.io import atomic_write_json

log = logging.getLogger(__name__)


def _on_language(lid, text: str, lang: str) -> bool:
    if not lang:
        return True
    got = lid(text).lang
    return got in (lang, "other") or {got, lang} <= {"id", "ms"}


def make_pairs(cfg, prompts, samples, rm, tok, lid, skipped: Counter):
    """One pair per prompt where the rules allow; also the round's sampling statistics."""
    flat = [s.sequence for ss in samples for s in ss]
    scores = score_sequences(rm, flat, tok.pad_id)
    n = cfg.n_samples
    pairs, rows = [], []
    math_ok: dict[str, list[bool]] = {"fast": [], "deep": []}
    n_ref = 0  # pairs whose chosen answer is the reference solution
    for k, (prompt, ss) in enumerate(zip(prompts, samples)):
        cands = [Candidate(s, scores[k * n + j], _on_language(lid, s.text, prompt.get("lang", "")))
                 for j, s in enumerate(ss)]  # fmt: skip
        skipped["empty response"] += sum(not s.text.strip() for s in ss)
        ref = _reference_if_none_right(cfg, prompt, cands, rm, tok)
        picked = select_pair(prompt, cands + ref, cfg)
        if prompt.get("set") == "math":
            mode = "deep" if prompt.get("thinking") else "fast"
            math_ok[mode] += [bool(c.correct) for c in cands if c.correct is not None]
            n_ref += bool(ref) and not isinstance(picked, str)
        if isinstance(picked, str):
            skipped[picked] += 1
            continue
        c, r = picked
        pairs.append(DPOPair(c.sample.prompt_ids, c.sample.token_ids, r.sample.token_ids,
                             verified=bool(c.correct)))  # fmt: skip
        rows.append({"prompt": prompt["prompt"], "set": prompt.get("set"), "lang": prompt["lang"],
                     "thinking": bool(prompt.get("thinking")),
                     "chosen": c.sample.text, "rejected": r.sample.text,
                     "reward_chosen": c.reward, "reward_rejected": r.reward})  # fmt: skip
    stats = {"mean_reward": sum(scores) / max(len(scores), 1), "reference_pairs": n_ref}
    for mode, ok in math_ok.items():
        if ok:
            stats[f"math_sample_accuracy_{mode}"] = sum(ok) / len(ok)
    return pairs, rows, stats


def _reference_if_none_right(cfg, prompt, cands, rm, tok) -> list[Candidate]:
    """[the reference solution] for a math prompt none of whose samples is right, with
    ``math_reference``; else []."""
    if not cfg.math_reference or prompt.get("set") != "math":
        return []
    for c in cands:  # select_pair reuses these verdicts
        if c.sample.text.strip():
            c.correct = check_answer(c.sample.text, prompt)
    if any(c.correct for c in cands):
        return []
    ref = reference_candidate(tok, prompt, rm)
    return [ref] if ref is not None else []


def _with_reference(ref, pairs: list[DPOPair], pad_id: int) -> None:
    prompts = [p.prompt_ids for p in pairs] * 2
    responses = [p.chosen_ids for p in pairs] + [p.rejected_ids for p in pairs]
    lp = response_logprobs(ref, prompts, responses, pad_id)
    for i, p in enumerate(pairs):
        p.ref_chosen, p.ref_rejected = lp[i], lp[len(pairs) + i]


def _train_config(cfg: DPOConfig, n_pairs: int) -> TrainConfig:
    tc = TrainConfig.from_dict(cfg.train.to_dict())
    tc.steps = max(1, math.ceil(cfg.epochs * n_pairs / tc.micro_batch_size))
    tc.warmup_steps = min(tc.warmup_steps, tc.steps)
    return tc


def heldout_prompts(cfg: DPOConfig, world: World, exclude: set[str]):
    counts = {"math": cfg.eval_math_per_lang}
    math = build_prompts(cfg, world, "dpo-heldout", exclude, counts)
    general = build_prompts(cfg, world, "dpo-heldout", exclude,
                            {"general": cfg.eval_general_per_lang,
                             "ecommerce": cfg.eval_general_per_lang})  # fmt: skip
    return math, general


def with_modes(prompts: list[dict[str, Any]], modes: list[str]) -> list[dict[str, Any]]:
    """Each math prompt once per mode in ``modes`` (``"thinking"``: deep mode); others fast."""
    out = []
    for p in prompts:
        if p.get("set") == "math":
            out += [{**p, "thinking": m == "deep"} for m in modes]
        else:
            out.append({**p, "thinking": False})
    return out


def sample_prompts(cfg: DPOConfig, engine, tok, prompts: list[dict[str, Any]], seed: int):
    """``n_samples`` answers per prompt, each in its mode (deep: up to ``deep_max_tokens``)."""
    samples: list = [None] * len(prompts)
    for deep in (False, True):
        idx = [i for i, p in enumerate(prompts) if bool(p.get("thinking")) == deep]
        if not idx:
            continue
        got = sample_n(
            engine, tok, [prompts[i]["prompt"] for i in idx], cfg.n_samples, cfg.temperature,
            cfg.deep_max_tokens if deep else cfg.max_tokens, seed + 104_729 * deep,
            enable_thinking=deep, top_p=cfg.top_p,
        )  # fmt: skip
        for i, ss in zip(idx, got):
            samples[i] = ss
    return samples


def _round(r, cfg, model, ref, rm, tok, world, exclude, extra, lid, out: Path) -> dict[str, Any]:
    from compass.inference.engine import Engine

    t0 = time.time()
    prompts = build_prompts(cfg, world, f"dpo-r{r}", exclude, cfg.prompts_per_lang) + extra
    prompts = with_modes(prompts, cfg.math_modes)
    engine = Engine(model, tok, max_batch=64)
    samples = sample_prompts(cfg, engine, tok, prompts, cfg.seed + 7919 * r)
    skipped: Counter = Counter()
    pairs, rows, stats = make_pairs(cfg, prompts, samples, rm, tok, lid, skipped)
    (out / f"round_{r}").mkdir(parents=True, exist_ok=True)
    (out / f"round_{r}" / "pairs.jsonl").write_text(
        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows)
    )
    record = {"round": r, "prompts": len(prompts), "pairs": len(pairs),
              "skipped": dict(skipped), **stats}  # fmt: skip
    if pairs:
        _with_reference(ref, pairs, tok.pad_id)
        stage = DPOStage(pairs, cfg.train.micro_batch_size, tok.pad_id, cfg.beta, cfg.seed + r,
                         cfg.nll_alpha)  # fmt: skip
        result = Trainer(model, stage, _train_config(cfg, len(pairs)), out / f"round_{r}").fit()
        record |= {"steps": result.step, "loss_first": result.losses[0] if result.losses else None,
                   "loss_last": result.losses[-1] if result.losses else None}  # fmt: skip
    else:
        log.warning("dpo round %d: no pairs (%s); the policy is unchanged", r, dict(skipped))
    record["wall_s"] = round(time.time() - t0, 1)
    log.info("dpo round %d: %s", r, record)
    return record


def run_dpo(
    cfg: DPOConfig,
    policy: str | Path,
    reward: str | Path,
    out: str | Path,
    world: World,
    tokenizer: str | Path | None = None,
    eval_dir: str | Path | None = None,
) -> dict[str, Any]:
    """All rounds, the final policy in ``out/ckpt``, and before/after metrics (metrics.json)."""
    from compass.tokenizer import load_tokenizer

    t0, out = time.time(), Path(out)
    policy = resolve_checkpoint(policy)
    tok_dir = tokenizer_for(policy, tokenizer)
    check_matches(reward, tok_dir, load_model_config(policy).vocab_size)
    tok = load_tokenizer(tok_dir)
    model = load_model(policy)
    dev = default_device()  # the GPU when there is one: the Trainer moves the policy there too
    rm = load_reward_model(reward).to(dev)
    ref = load_model(policy).to(dev).eval().requires_grad_(False)
    lid = language_identifier()
    exclude = eval_prompts(eval_dir)
    h_math, h_general = heldout_prompts(cfg, world, exclude)
    exclude |= {p["prompt"] for p in h_math + h_general}
    file_skipped: Counter = Counter()
    extra = read_prompt_files(cfg.prompt_files, file_skipped)
    ev = (rm, h_math, h_general, cfg.eval_max_tokens, cfg.eval_deep_max_tokens, lid)
    before = evaluate_policy(ref, tok, *ev)
    rounds = [_round(r, cfg, model, ref, rm, tok, world, exclude, extra, lid, out)
              for r in range(cfg.rounds)]  # fmt: skip
    model.eval()
    save_model(model, out / "ckpt")
    shutil.copytree(tok_dir, out / "ckpt" / "tokenizer", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("manifest.json", "config.json"))  # fmt: skip
    after = evaluate_policy(model, tok, *ev)
    metrics = {
        "before": before,
        "after": after,
        "rounds": rounds,
        "prompt_files_skipped": dict(file_skipped),
        "wall_s": round(time.time() - t0, 1),
    }
    atomic_write_json(out / "metrics.json", metrics)
    return metrics

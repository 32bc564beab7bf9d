"""Deep vs fast mode on held-out multi-step arithmetic, per language (report §5.3), and whether
the model answers in the language of the question (``compass.posttrain.language``).

Both modes run the same greedy decoding on the same questions; only ``enable_thinking`` in the
chat template differs. Answers are checked by ``compass.posttrain.answers``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from compass.inference.chat import _answer_ids
from compass.inference.params import SamplingParams
from compass.inference.reasoning import ThinkSplitter
from compass.posttrain.answers import check_answer
from compass.posttrain.language import language_match as share_in_language

log = logging.getLogger(__name__)


def generate_replies(engine, messages_list: list[list[dict]], deep: bool, max_tokens: int):
    """(reasoning, content) per conversation, greedy, batched through the engine."""
    tok = engine.tokenizer
    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, enable_thinking=deep)
    prompts = [
        tok.render_chat(m, enable_thinking=deep, add_generation_prompt=True)[0]
        for m in messages_list
    ]
    outs = engine.generate(prompts, params)
    result = []
    for prompt, out in zip(prompts, outs):
        sp = ThinkSplitter(tok, prompt)
        sp.feed(_answer_ids(engine, out.token_ids, params))
        result.append(sp.result())
    return result


def evaluate_modes(
    engine, items: list[dict[str, Any]], max_tokens: int = 48
) -> dict[str, dict[str, float]]:
    """Accuracy per language and mode: ``{lang: {"fast": acc, "deep": acc, "n": n}}``."""
    table: dict[str, dict[str, float]] = {}
    samples: dict[str, list[dict[str, str]]] = {"fast": [], "deep": []}
    for mode in ("fast", "deep"):
        msgs = [[{"role": "user", "content": it["prompt"]}] for it in items]
        outs = generate_replies(engine, msgs, mode == "deep", max_tokens)
        for it, (reasoning, content) in zip(items, outs):
            row = table.setdefault(it["lang"], {"fast": 0.0, "deep": 0.0, "n": 0})
            row[mode] += check_answer(content, it)
            if mode == "fast":
                row["n"] += 1
            if len(samples[mode]) < 8:
                samples[mode].append({"q": it["prompt"], "reasoning": reasoning, "a": content})
    for row in table.values():
        row["fast"] = round(row["fast"] / row["n"], 4)
        row["deep"] = round(row["deep"] / row["n"], 4)
    n = sum(r["n"] for r in table.values())
    table["all"] = {
        m: round(sum(r[m] * r["n"] for r in table.values()) / max(n, 1), 4)
        for m in ("fast", "deep")
    } | {"n": n}
    table["_samples"] = samples  # type: ignore[assignment]
    return table


def language_match(engine, prompts: list[dict[str, str]], max_tokens: int = 48) -> dict:
    """Share of fast-mode answers in the question's language, per language (judged answers)."""
    outs = generate_replies(
        engine, [[{"role": "user", "content": p["prompt"]}] for p in prompts], False, max_tokens
    )
    return share_in_language((content, p["lang"]) for p, (_, content) in zip(prompts, outs))


def write_table(result: dict, out: str | Path) -> str:
    """Markdown table of the deep-vs-fast accuracies; also writes ``reasoning_eval.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reasoning_eval.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    modes = result["modes"]
    lines = ["| lang | n | fast | deep | deep − fast |", "|---|---|---|---|---|"]
    for lang, r in modes.items():
        if lang.startswith("_"):
            continue
        gap = 100 * (r["deep"] - r["fast"])
        lines.append(
            f"| {lang} | {r['n']} | {100 * r['fast']:.1f} | {100 * r['deep']:.1f} | {gap:+.1f} |"
        )
    text = "\n".join(lines) + "\n"
    (out / "reasoning_eval.md").write_text(text)
    return text

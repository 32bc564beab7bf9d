"""The online-DPO prompt sets (report §4.2): general, bad-case, math (multilingual), e-commerce.

All come from the shared World through ``evalgen`` with their own streams (a new stream each
round, so rounds see new prompts) and with the held-out evaluation prompts excluded:

- ``math``: verifiable problems with their reference answer, checked by rule (``math_task``:
  the shopping-cart problems a tiny policy can solve, or the World's numerical reasoning);
- ``ecommerce``: product, attribute, category, review, recommendation and search questions;
- ``general``: brand knowledge, query rewriting, customer-intent questions;
- ``bad-case``: questions small models often get wrong — identity and "which language"
  questions.

A prompt is ``{"prompt", "lang", "set"}`` and, for math, ``answer``/``answer_minor``/``currency``.
"""

from __future__ import annotations

from typing import Any

from compass.data.synth.evalgen import eval_items
from compass.data.synth.tasks.math_items import math_items
from compass.data.synth.world import World

Prompt = dict[str, Any]
ECOMMERCE_TASKS = (
    "product_question",
    "attribute_extraction",
    "classification",
    "review_understanding",
    "recommendation",
    "query_matching",
)
GENERAL_TASKS = ("brand_info", "query_rewriting", "dialogue_understanding")
BADCASE = {
    "en": ("Who are you?", "What can you help me with?"),
    "zh": ("你是谁？", "你能帮我做什么？"),
    "id": ("Siapa kamu?", "Apa yang bisa kamu bantu?"),
    "ms": ("Siapakah anda?", "Apakah yang boleh anda bantu?"),
    "th": ("คุณเป็นใคร", "คุณช่วยอะไรฉันได้บ้าง"),
    "vi": ("Bạn là ai?", "Bạn có thể giúp gì cho tôi?"),
    "tl": ("Sino ka?", "Ano ang maitutulong mo sa akin?"),
    "pt": ("Quem é você?", "Em que você pode me ajudar?"),
}
_MATH_KEYS = ("answer", "answer_minor", "currency", "solution")


def _from_items(world, tasks, lang, n, seed, exclude, stream, set_name) -> list[Prompt]:
    """``n`` prompts spread round-robin over ``tasks``."""
    out: list[Prompt] = []
    for t, task in enumerate(tasks):
        m = len(range(t, n, len(tasks)))
        for it in eval_items(world, task, lang, m, seed, exclude, stream=stream) if m else []:
            extra = {key: it[key] for key in _MATH_KEYS if key in it}
            out.append({"prompt": it["prompt"], "lang": lang, "set": set_name, **extra})
    return out


def build_prompts(
    world: World,
    langs: list[str],
    seed: int,
    math_task: str,
    stream: str,
    exclude: set[str],
    counts: dict[str, int],
) -> list[Prompt]:
    """``counts[set]`` prompts per language for each set, from the stream ``stream``."""
    prompts: list[Prompt] = []
    for lang in langs:
        n = counts.get("math", 0)
        if n:
            items = math_items(world, math_task, lang, n, seed, exclude, f"{stream}:math")
            prompts += [
                {
                    "prompt": it["prompt"],
                    "lang": lang,
                    "set": "math",
                    **{key: it[key] for key in _MATH_KEYS if key in it},
                }
                for it in items
            ]
        n = counts.get("ecommerce", 0)
        if n:
            prompts += _from_items(
                world, ECOMMERCE_TASKS, lang, n, seed, exclude, f"{stream}:ecom", "ecommerce"
            )
        n = counts.get("general", 0)
        if n:
            prompts += _from_items(
                world, GENERAL_TASKS, lang, n, seed, exclude, f"{stream}:general", "general"
            )
        n = counts.get("badcase", 0)
        qs = BADCASE[lang]
        prompts += [{"prompt": qs[k % len(qs)], "lang": lang, "set": "badcase"} for k in range(n)]
    return prompts

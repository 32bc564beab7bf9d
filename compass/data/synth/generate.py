"""Write the built-in corpus: ``docs/*.jsonl``, ``eval/*.jsonl``, ``world.json``, manifest.

Document record: ``{"id", "text", "lang", "source", "noise", "meta"}``. ``source`` is the kind
of text (product, brand, guide, review, query, dialogue, math_problem, prose, code, math, recall,
order, or a noise kind for pure-noise pages: boilerplate, spam, keyword_stuffing); ``noise`` is
null for clean documents and the planted noise kind otherwise (a near-duplicate keeps its
original ``source``).
Every random choice flows from ``DataGenConfig.seed`` through named streams, so the same config
gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from compass.data.synth import noise
from compass.data.synth.config import DataGenConfig
from compass.data.synth.evalgen import TASKS, eval_items
from compass.data.synth.orders import order_doc
from compass.data.synth.prose import code_doc, math_doc, prose_doc
from compass.data.synth.recall import recall_doc
from compass.data.synth.render import brand_page, guide_page
from compass.data.synth.world import World
from compass.utils.io import atomic_write_text
from compass.utils.progress import progress_bar

log = logging.getLogger(__name__)
# Sources whose ``lang`` a language-ID model should reproduce. Code and math documents carry the
# language of their comments and words, but are mostly symbols: exempt them from LID agreement.
LID_EXEMPT_SOURCES = frozenset({"code", "math"})
Doc = dict[str, Any]


def _product(w: World, lang: str, rng: random.Random) -> tuple[str, dict]:
    p = rng.choice(w.products)
    return w.describe(p, lang, rng), {"product_id": p.id}


def _brand(w: World, lang: str, rng: random.Random) -> tuple[str, dict]:
    b = rng.choice(w.brands)
    return brand_page(w, b.name, lang, rng), {"brand": b.name}


def _guide(w: World, lang: str, rng: random.Random) -> tuple[str, dict]:
    text, pids = guide_page(w, lang, rng)
    return text, {"product_ids": pids}


def _review(w: World, lang: str, rng: random.Random) -> tuple[str, dict]:
    r = w.review(rng.choice(w.products), lang, rng)
    return r.document, {"product_id": r.product_id, "rating": r.rating, "sentiment": r.sentiment}


def _query(w: World, lang: str, rng: random.Random) -> tuple[str, dict]:
    q = w.query(lang, rng)
    return q.document, {"relevant": q.relevant[:4]}


def _dialogue(w: World, lang: str, rng: random.Random) -> tuple[str, dict]:
    d = w.dialogue(lang, rng)
    return d.render(), {"intent": d.intent, "product_id": d.product_id}


def _math_problem(w: World, lang: str, rng: random.Random) -> tuple[str, dict]:
    pr = w.problem(lang, rng)
    meta = {
        "kind": pr.kind,
        "answer": pr.answer,
        "answer_minor": pr.answer_minor,
        "currency": pr.currency,
        "inputs": pr.inputs,
    }
    return pr.render(), meta


def _recall(w: World, cfg: DataGenConfig, lang: str, rng: random.Random) -> tuple[str, dict]:
    long = rng.random() < cfg.recall_long_frac
    max_tokens = cfg.recall_long_tokens if long else cfg.recall_short_tokens
    return recall_doc(w, lang, rng, max_tokens), {"long": long}


KINDS: dict[str, Callable[[World, str, random.Random], tuple[str, dict]]] = {
    "product": _product,
    "brand": _brand,
    "guide": _guide,
    "review": _review,
    "query": _query,
    "dialogue": _dialogue,
    "math_problem": _math_problem,
    "prose": lambda w, lang, rng: (prose_doc(lang, rng), {}),
    "code": lambda w, lang, rng: (code_doc(lang, rng), {}),
    "math": lambda w, lang, rng: (math_doc(lang, rng), {}),
}
# Kinds whose keys and values come from a stream of their own (named here), so adding or
# reweighting them leaves every other document's draw unchanged.
OWN_STREAM_KINDS: dict[str, tuple[str, Callable[..., tuple[str, dict]]]] = {
    "recall": ("recall", _recall),
    "order": ("orders", lambda w, cfg, lang, rng: (order_doc(w, lang, rng), {})),
}


def clean_docs(world: World, cfg: DataGenConfig, bar: tqdm | None = None) -> list[Doc]:
    rng = random.Random(f"docs:{cfg.seed}")
    streams = {k: random.Random(f"{name}:{cfg.seed}") for k, (name, _) in OWN_STREAM_KINDS.items()}
    kinds = sorted(k for k, v in cfg.mix.items() if v > 0)
    weights = [cfg.mix[k] for k in kinds]
    docs = []
    seen: set[str] = set()
    for i in range(cfg.n_docs):
        # Clean documents are unique, so every duplicate curation finds is a planted one; a
        # kind that keeps repeating itself (few brands) gets a few redraws, then is let through.
        for _ in range(20):
            kind = rng.choices(kinds, weights)[0]
            lang = rng.choice(cfg.languages)
            if kind in OWN_STREAM_KINDS:
                text, meta = OWN_STREAM_KINDS[kind][1](world, cfg, lang, streams[kind])
            else:
                text, meta = KINDS[kind](world, lang, rng)
            digest = hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
            if digest not in seen:
                break
        seen.add(digest)
        docs.append(
            {
                "id": f"{lang}-{kind}-{i:07d}",
                "text": text,
                "lang": lang,
                "source": kind,
                "noise": None,
                "meta": meta,
            }
        )
        if bar is not None:
            bar.update()
    return docs


def noise_docs(world: World, cfg: DataGenConfig, clean: list[Doc], bar: tqdm | None = None):
    rng = random.Random(f"noise:{cfg.seed}")
    # Mixing languages needs two of them; a one-language corpus plants the other kinds only.
    kinds = sorted(
        k
        for k, v in cfg.noise_mix.items()
        if v > 0 and (k != "mixed_language" or len(cfg.languages) > 1)
    )
    weights = [cfg.noise_mix[k] for k in kinds]
    unicode_docs = [d for d in clean if not d["text"].isascii()] or clean
    out = []
    for i in range(round(cfg.n_docs * cfg.noise_fraction) if kinds else 0):
        kind = rng.choices(kinds, weights)[0]
        lang = rng.choice(cfg.languages)
        base = rng.choice(unicode_docs if kind == "mojibake" else clean)
        meta: dict[str, Any] = {}
        source = kind
        if kind == "mixed_language":
            pool = rng.sample(clean, min(60, len(clean)))
            other = next((d for d in pool if d["lang"] != base["lang"]), None)
            other = other or next((d for d in clean if d["lang"] != base["lang"]), None)
            if other is None:  # every clean document is in one language: nothing to mix
                kind = "near_duplicate"
        if kind == "near_duplicate":
            text, lang, source = (
                noise.near_duplicate(base["text"], rng),
                base["lang"],
                base["source"],
            )
            meta = {"dup_of": base["id"]}
        elif kind == "mojibake":
            text, lang, source = noise.mojibake(base["text"]), base["lang"], base["source"]
            meta = {"of": base["id"]}
        elif kind == "mixed_language" and other is not None:
            text = noise.mixed_language(base["text"], other["text"], rng)
            lang, source = base["lang"], base["source"]
            meta = {"of": [base["id"], other["id"]]}
        elif kind == "keyword_stuffing":
            text = noise.keyword_stuffing(world, lang, rng)
        else:
            text = getattr(noise, kind)(lang, rng)
        out.append(
            {
                "id": f"{lang}-noise-{kind}-{i:07d}",
                "text": text,
                "lang": lang,
                "source": source,
                "noise": kind,
                "meta": meta,
            }
        )
        if bar is not None:
            bar.update()
    return out


def _write_jsonl(path: Path, records: list[dict]) -> int:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    atomic_write_text(path, text)
    return len(text.encode("utf-8"))


def generate(cfg: DataGenConfig, out_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Build the world, write documents and evaluation items under ``out_dir``; return metrics."""
    t0 = time.time()
    out = Path(out_dir)
    world = World.build(cfg.seed, cfg.n_products, cfg.n_shops, cfg.n_users)
    world.save(out / "world.json")
    n_noise = round(cfg.n_docs * cfg.noise_fraction)
    with progress_bar(
        total=cfg.n_docs + n_noise, desc="generate docs", unit="doc", disable=not progress
    ) as bar:
        clean = clean_docs(world, cfg, bar)
        docs = clean + noise_docs(world, cfg, clean, bar)
    random.Random(f"shuffle:{cfg.seed}").shuffle(docs)
    n_bytes = 0
    for k in range(0, len(docs), cfg.docs_per_file):
        part = out / "docs" / f"part-{k // cfg.docs_per_file:05d}.jsonl"
        n_bytes += _write_jsonl(part, docs[k : k + cfg.docs_per_file])
    n_eval: dict[str, int] = {}
    for task in progress_bar(TASKS, desc="eval items", disable=not progress):
        items = [
            it
            for lang in cfg.languages
            for it in eval_items(world, task, lang, cfg.eval_items_per_task, cfg.seed)
        ]
        _write_jsonl(out / "eval" / f"{task}.jsonl", items)
        n_eval[task] = len(items)
    metrics = {
        "docs": len(docs),
        "bytes": n_bytes,
        "by_source": dict(sorted(Counter(d["source"] for d in docs).items())),
        "by_lang": dict(sorted(Counter(d["lang"] for d in docs).items())),
        "by_noise": dict(sorted(Counter(d["noise"] for d in docs if d["noise"]).items())),
        "eval_items": n_eval,
        "products": len(world.products),
        "seconds": round(time.time() - t0, 2),
    }
    log.info(
        "wrote %d documents (%.1f MB) and %d eval items to %s in %.1fs",
        len(docs),
        n_bytes / 1e6,
        sum(n_eval.values()),
        out,
        metrics["seconds"],
    )
    return metrics

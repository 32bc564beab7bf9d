"""SFT selection embedders: cross-lingual retrieval and speed, USE-multilingual vs the hash
baseline.

Parallel sentences: the SFT templates (compass/posttrain/sft/templates.py) are translations of
each other, filled with the same slots. For every non-English sentence, is its nearest English
sentence the translation? Speed: sentences per second on the same texts, in this run.

    .venv/bin/python bench/sft_embedders.py     # writes bench/results/sft_embedders.md
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

import numpy as np

from compass.data.synth.tasks.templates import T
from compass.posttrain.sft.selection import embed

SLOTS = dict(
    title="Lumora Nova 3",
    brand="Lumora",
    shop="Meko Store",
    fee="$2.50",
    threshold="$30.00",
    pct=15,
    noun="rice cooker",
    colour="navy",
    budget="$40.00",
    price="$35.90",
    review="Great, fast delivery.",
    n=5,
)


def retrieval(kind: str) -> tuple[int, int, float]:
    keys = sorted(T["en"])
    en = [T["en"][k].format(**SLOTS) for k in keys]
    others = [(lang, k, T[lang][k].format(**SLOTS)) for lang in T if lang != "en" for k in keys]
    embed(["warm up"], kind)  # imports and weight loading are not throughput
    t0 = time.time()
    e_en = embed(en, kind)
    e_o = embed([x[2] for x in others], kind)
    dt = time.time() - t0
    hits = int(sum(keys[int(np.argmax(e_en @ v))] == k for (_, k, _), v in zip(others, e_o)))
    return hits, len(others), (len(en) + len(others)) / dt


def main() -> None:
    rows = {kind: retrieval(kind) for kind in ("hash", "use")}
    base = rows["hash"]
    lines = [
        f"# SFT selection embedders — {platform.node()}, {time.strftime('%Y-%m-%d %H:%M')}",
        "",
        "Command: `.venv/bin/python bench/sft_embedders.py` (2 shared CPU cores, loaded)",
        "",
        "| embedder | cross-lingual top-1 | sentences/s | top-1 vs hash | speed vs hash |",
        "|---|---|---|---|---|",
    ]
    for kind, (hits, n, sps) in rows.items():
        lines.append(
            f"| {kind} | {hits}/{n} | {sps:.0f} | {hits / max(base[0], 1):.2f}× | "
            f"{sps / base[2]:.3f}× |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    Path(__file__).parent.joinpath("results", "sft_embedders.md").write_text(text)


if __name__ == "__main__":
    main()

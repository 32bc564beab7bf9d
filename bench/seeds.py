"""Post-training on several seeds from one pretrained run: does every claimed property hold?

Pretraining is shared (its stages are copied from ``--run``); for each seed the post-training
stages rerun with ``tasks.seed``, ``sft.data.seed``, ``reward.seed`` and ``dpo.seed`` set to it
(new task data, selection, data order, reward runs, DPO sampling and held-out prompts). The
table gives each figure per seed, its mean and spread, and whether each property holds:

- deep mode ahead of fast mode on held-out cart arithmetic, in every language;
- the reward soup's held-out pairwise accuracy at least every run's;
- Best-of-N of the soup rising with N (never lower at a larger N);
- DPO raising the mean reward without lowering math accuracy in either mode.

    python bench/seeds.py --run runs/tiny --seeds 1,2,3 [--recipe tiny] [--out runs/seeds]

writes ``bench/results/seeds.md`` (and ``seeds.json`` beside it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from machine import describe

SHARED = (
    "generate",
    "curate",
    "tokenizer",
    "tokenize",
    "pretrain_main",
    "pretrain_anneal",
    "pretrain_long",
)
SEEDED = ("tasks.seed", "sft.data.seed", "reward.seed", "dpo.seed")


def seed_run(run: Path, out: Path, recipe: str, seed: int) -> Path:
    """A run dir holding ``run``'s pretraining stages, then post-training at ``seed``."""
    dest = out / f"seed{seed}"
    for stage in SHARED:
        if not (dest / stage).exists():
            shutil.copytree(run / stage, dest / stage, copy_function=shutil.copy)
    cmd = [
        sys.executable,
        "-m",
        "compass.cli",
        "run",
        "--recipe",
        recipe,
        "--out",
        str(dest),
        *[f"--{key}={seed}" for key in SEEDED],
    ]
    subprocess.run(cmd, check=True)
    return dest


def _metrics(run: Path, stage: str) -> dict:
    return json.loads((run / stage / "manifest.json").read_text())["metrics"]


def figures(run: Path) -> dict:
    modes = _metrics(run, "eval_reasoning")["modes"]
    reward = _metrics(run, "reward")
    dpo = _metrics(run, "dpo")
    pairwise = reward["pairwise_accuracy"]
    runs = [v for k, v in pairwise.items() if k.startswith("run_")]
    bon = reward["best_of_n"].get("soup", {})
    ns = sorted(bon, key=int)
    before, after = dpo["before"], dpo["after"]
    gaps = {k: v["deep"] - v["fast"] for k, v in modes.items() if k != "all"}
    shop = ecommerce_means(_metrics(run, "eval"))
    sft_best = max(v for k, v in shop.items() if k.startswith("sft "))
    dpo_best = max(v for k, v in shop.items() if k.startswith("dpo ["))
    quant = {k: v for k, v in shop.items() if k.startswith("dpo ") and not k.startswith("dpo [")}
    lang_sft = _metrics(run, "eval_reasoning")["language_match"]
    lang_dpo = [before["language_match"], after["language_match"]]
    per_lang = list(_per_language(lang_sft).values())
    return {
        "deep_minus_fast": {"all": modes["all"]["deep"] - modes["all"]["fast"], **gaps},
        "soup_pairwise": pairwise["soup"],
        "best_run_pairwise": max(runs),
        "soup_best_of_n": {n: bon[n] for n in ns},
        "dpo_mean_reward": [before["mean_reward"], after["mean_reward"]],
        "dpo_fast_math": [before["math_accuracy"], after["math_accuracy"]],
        "dpo_deep_math": [before["deep_math_accuracy"], after["deep_math_accuracy"]],
        "dpo_change": dpo.get("change", {}),
        "ecommerce": shop,
        "sft_language_match": lang_sft,
        "dpo_language_match": lang_dpo,
        "holds": {
            "deep > fast in every language": min(gaps.values()) > 0,
            "soup >= every run": pairwise["soup"] >= max(runs),
            "Best-of-N rises with N": all(bon[a] <= bon[b] for a, b in itertools.pairwise(ns)),
            "DPO raises the mean reward": after["mean_reward"] > before["mean_reward"],
            "DPO keeps fast math": after["math_accuracy"] >= before["math_accuracy"],
            "DPO keeps deep math": after["deep_math_accuracy"] >= before["deep_math_accuracy"],
            "e-commerce: best SFT form >= base raw + 0.15": sft_best
            >= shop["base (pretrain) [raw]"] + 0.15,
            "e-commerce: DPO >= SFT - 0.01 (best forms)": dpo_best >= sft_best - 0.01,
            "e-commerce: FP8 and AWQ within 0.01 of DPO (same form)": all(
                abs(v - shop["dpo [" + k.split(" [", 1)[1]]) <= 0.01 for k, v in quant.items()
            ),
            "SFT answers in the prompt's language >= 0.9, every language": min(per_lang) >= 0.9,
            "DPO keeps the answer language": lang_dpo[1] >= lang_dpo[0],
        },
    }


def _per_language(match: dict) -> dict[str, float]:
    """The per-language shares of a language_match result (not its totals, counts or judge)."""
    return {k: v for k, v in match.items() if k not in ("all", "judged", "judge")}


def ecommerce_means(eval_metrics: dict) -> dict[str, float]:
    """Mean over the built-in e-commerce tasks per results column (model [form]); columns that
    scored only some tasks (the deep form scores the generative one) are left out."""
    columns = {k: v for k, v in eval_metrics.items() if isinstance(v, dict) and v}
    n_tasks = max(len(v) for v in columns.values())
    return {k: statistics.mean(v.values()) for k, v in columns.items() if len(v) == n_tasks}


def _spread(values: list[float]) -> str:
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {sd:.3f}"


def _gain(per_seed: dict, seeds: list[int], key: str) -> list[float]:
    return [per_seed[s][key][1] - per_seed[s][key][0] for s in seeds]


def table(per_seed: dict[int, dict]) -> str:
    seeds = sorted(per_seed)
    gaps = [per_seed[s]["deep_minus_fast"] for s in seeds]
    rows = {
        "deep − fast (all languages)": [g["all"] for g in gaps],
        "min over languages of deep − fast": [
            min(v for k, v in g.items() if k != "all") for g in gaps
        ],
        "soup pairwise": [per_seed[s]["soup_pairwise"] for s in seeds],
        "best run pairwise": [per_seed[s]["best_run_pairwise"] for s in seeds],
        "DPO mean reward gain": _gain(per_seed, seeds, "dpo_mean_reward"),
        "DPO fast math gain": _gain(per_seed, seeds, "dpo_fast_math"),
        "DPO deep math gain": _gain(per_seed, seeds, "dpo_deep_math"),
        **{
            f"e-commerce mean, {col}": [
                per_seed[s]["ecommerce"].get(col, float("nan")) for s in seeds
            ]
            for col in per_seed[seeds[0]]["ecommerce"]
        },
        "SFT answer language (min over languages)": [
            min(_per_language(per_seed[s]["sft_language_match"]).values()) for s in seeds
        ],
        "DPO answer language, before": [per_seed[s]["dpo_language_match"][0] for s in seeds],
        "DPO answer language, after": [per_seed[s]["dpo_language_match"][1] for s in seeds],
    }
    head = "| figure | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± sd |"
    lines = [head, "|---" * (len(seeds) + 2) + "|"]
    for name, vals in rows.items():
        cells = " | ".join(f"{v:+.3f}" for v in vals)
        lines.append(f"| {name} | {cells} | {_spread(vals)} |")
    lines += ["", "| property | " + " | ".join(f"seed {s}" for s in seeds) + " |"]
    lines.append("|---" * (len(seeds) + 1) + "|")
    for prop in per_seed[seeds[0]]["holds"]:
        marks = ["yes" if per_seed[s]["holds"][prop] else "**no**" for s in seeds]
        lines.append(f"| {prop} | " + " | ".join(marks) + " |")
    lines += ["", per_seed_table(per_seed)]
    return "\n".join(lines) + "\n"


def _pm(change: dict | None) -> str:
    return f"{change['change']:+.3f} ± {change['se']:.3f}" if change else "—"


def per_seed_table(per_seed: dict[int, dict]) -> str:
    """Each seed's Best-of-N curve, and DPO's held-out changes with their paired standard
    errors (over the same prompts before and after), so a change can be told from noise."""
    lines = [
        "| seed | soup Best-of-N (N = "
        + " / ".join(next(iter(per_seed.values()))["soup_best_of_n"])
        + ") | DPO mean reward | DPO fast math | DPO deep math "
        "| SFT answer language per language |",
        "|---|---|---|---|---|---|",
    ]
    for s in sorted(per_seed):
        f = per_seed[s]
        bon = " / ".join(f"{v:.3f}" for v in f["soup_best_of_n"].values())
        ch = f.get("dpo_change", {})
        langs = ", ".join(f"{k} {v:.2f}" for k, v in _per_language(f["sft_language_match"]).items())
        lines.append(
            f"| {s} | {bon} | {_pm(ch.get('mean_reward'))} | {_pm(ch.get('math_accuracy'))} | "
            f"{_pm(ch.get('deep_math_accuracy'))} | {langs} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, help="a finished `compass run` dir (its pretraining)")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--recipe", default="tiny")
    ap.add_argument("--out", default="runs/seeds")
    ap.add_argument("--results", default="bench/results/seeds.md")
    ap.add_argument(
        "--run-seed",
        type=int,
        help="also tabulate RUN itself, as this seed (a full `compass run` at the recipe's seed)",
    )
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    per_seed = {s: figures(seed_run(Path(args.run), Path(args.out), args.recipe, s)) for s in seeds}
    if args.run_seed is not None:  # the full run itself is one more seed of the table
        per_seed[args.run_seed] = figures(Path(args.run))
    text = (
        f"# Post-training over seeds ({args.recipe} recipe)\n\nMachine: {describe()}. Command: "
        f"`python bench/seeds.py --run {args.run} --seeds {args.seeds} --recipe {args.recipe}"
        + (f" --run-seed {args.run_seed}" if args.run_seed is not None else "")
        + "`"
        f"\n\n{table(per_seed)}"
    )
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(per_seed, indent=2))
    sys.stdout.write(text)


if __name__ == "__main__":
    main()

"""``compass model info``: parameter counts of a recipe's model, built on the meta device."""

from __future__ import annotations

import argparse
import sys

import torch

from compass.utils.cli import add_recipe_args, dry_run, resolve_recipe


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="inspect a model recipe (parameter counts)")
    msub = p.add_subparsers(dest="model_cmd", metavar="CMD", required=True)
    info = msub.add_parser("info", help="total and active parameters, counted on the meta device")
    add_recipe_args(info)
    info.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> int:
    from compass.model.transformer import CompassModel

    recipe = resolve_recipe(args)
    if args.dry_run:
        return dry_run(recipe)
    with torch.device("meta"):
        model = CompassModel(recipe.model)
    n = model.num_parameters()
    c = recipe.model
    lines = [
        f"recipe            {recipe.name}",
        f"layers            {c.n_layers}  (d_model {c.d_model}, "
        f"heads {c.n_heads}/{c.n_kv_heads} kv, head dim {c.head_dim})",
        f"experts           {c.n_shared_experts} shared + {c.n_routed_experts} routed, "
        f"top-{c.top_k}, width {c.expert_dim}",
        f"vocab             {c.vocab_size}  (tied embeddings: {c.tie_embeddings})",
        f"total parameters  {n['total']:,}  ({n['total'] / 1e9:.2f} B)",
        f"active per token  {n['active']:,}  ({n['active'] / 1e9:.2f} B)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0

"""Editing a stage's code reruns that stage and the stages after it, and ``--plan`` says why."""

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from compass.pipeline.runner import Step, plan, run_steps
from compass.recipes import get_recipe

# A throwaway package of three stages: ``b`` uses a helper module that ``a`` does not see.
_FILES = {
    "__init__.py": '__version__ = "1.0"\n',
    "helper.py": "def word():\n    return 'b'\n",
    "first.py": "def run(ctx):\n    return {'a': 1}\n",
    "second.py": "from stagepkg.helper import word\n\n\ndef run(ctx):\n    return {word(): 2}\n",
    "third.py": "def run(ctx):\n    return {'c': 3}\n",
}


@pytest.fixture
def stagepkg(tmp_path, monkeypatch):
    pkg = tmp_path / "src" / "stagepkg"
    pkg.mkdir(parents=True)
    for name, text in _FILES.items():
        (pkg / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    yield pkg
    for name in [m for m in sys.modules if m.split(".")[0] == "stagepkg"]:
        del sys.modules[name]


def _steps():
    first, second, third = (
        importlib.import_module(f"stagepkg.{m}") for m in ("first", "second", "third")
    )
    return [
        Step("a", first.run),
        Step("b", second.run, deps=("a",)),
        Step("c", third.run, deps=("b",)),
    ]


def _why(run_dir):
    return {p.step.name: p.why for p in plan(_steps(), get_recipe("micro"), run_dir)}


def test_plan_says_never_ran_then_up_to_date(stagepkg, tmp_path):
    run_dir = tmp_path / "run"
    assert set(_why(run_dir).values()) == {"never ran"}
    run_steps(_steps(), get_recipe("micro"), run_dir)
    assert set(_why(run_dir).values()) == {"up to date"}


def test_editing_a_module_a_stage_imports_reruns_it_and_the_stages_after(stagepkg, tmp_path):
    run_dir = tmp_path / "run"
    run_steps(_steps(), get_recipe("micro"), run_dir)
    (stagepkg / "helper.py").write_text("def word():\n    return 'B'\n")
    assert _why(run_dir) == {
        "a": "up to date",
        "b": "code changed",
        "c": "input changed (b)",
    }


def test_editing_a_stage_function_reruns_it_and_the_stages_after(stagepkg, tmp_path):
    run_dir = tmp_path / "run"
    run_steps(_steps(), get_recipe("micro"), run_dir)
    (stagepkg / "first.py").write_text("def run(ctx):\n    return {'a': 10}\n")
    why = _why(run_dir)
    assert why["a"] == "code changed" and why["b"].startswith("input changed")
    assert why["c"].startswith("input changed")


def test_config_change_and_from_are_named(stagepkg, tmp_path):
    run_dir = tmp_path / "run"
    run_steps(_steps(), get_recipe("micro"), run_dir)
    r = get_recipe("micro")
    r.seed += 1
    assert plan(_steps(), r, run_dir)[0].why == "config changed"
    planned = plan(_steps(), get_recipe("micro"), run_dir, start_from="b")
    assert [p.why for p in planned] == ["up to date", "--from b", "--from b"]


def test_an_unfinished_stage_resumes_its_partial_work_after_a_code_fix(stagepkg, tmp_path):
    run_dir = tmp_path / "run"
    crash = (
        "def run(ctx):\n"
        "    (ctx.out / 'partial.ckpt').write_text('5')\n"
        "    raise KeyboardInterrupt\n"
    )
    (stagepkg / "third.py").write_text(crash)
    with pytest.raises(KeyboardInterrupt):
        run_steps(_steps(), get_recipe("micro"), run_dir)
    fixed = "def run(ctx):\n    return {'resumed': (ctx.out / 'partial.ckpt').exists()}\n"
    (stagepkg / "third.py").write_text(fixed)
    importlib.reload(sys.modules["stagepkg.third"])
    assert _why(run_dir)["c"] == "unfinished"
    assert run_steps(_steps(), get_recipe("micro"), run_dir)["c"]["metrics"] == {"resumed": True}


def test_a_real_stage_hashes_what_it_runs_and_not_the_other_stages():
    import compass
    from compass.pipeline.code import code_files
    from compass.pipeline.steps import tiny_pipeline

    root = Path(compass.__file__).parent

    def files(name):
        step = next(s for s in tiny_pipeline() if s.name == name)
        return {p.relative_to(root).as_posix() for p in code_files(step.fn)}

    generate, pretrain = files("generate"), files("pretrain_main")
    assert {"__init__.py", "data/synth/world.py"} <= generate
    assert not any(f.startswith("pretrain/") for f in generate)
    assert {"pretrain/stage.py", "model/transformer.py", "train/loop.py"} <= pretrain


def test_a_stage_code_hash_does_not_reach_the_recipes_or_other_stages_configs():
    """Recipes are values (fingerprinted as each step's config): following ``from compass.recipes
    import Recipe`` would make pretraining's hash cover every post-training config module."""
    from compass.pipeline.code import code_files
    from compass.pipeline.steps import tiny_pipeline

    step = next(s for s in tiny_pipeline() if s.name == "pretrain_main")
    files = [p.as_posix() for p in code_files(step.fn)]
    assert any(f.endswith("compass/pretrain/run.py") for f in files)
    assert not [f for f in files if "/compass/recipes/" in f or "/compass/posttrain/" in f]

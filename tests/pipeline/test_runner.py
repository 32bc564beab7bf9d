"""The pipeline runner: skip unchanged stages, rerun downstream of a change, --from, resume,
refuse mixing runs."""

import pytest

from compass.pipeline.runner import RunDirError, Step, run_steps
from compass.recipes import get_recipe


def _steps(calls, fail_at=None):
    def make(name):
        def fn(ctx):
            if name == fail_at:
                raise KeyboardInterrupt  # an interruption mid-stage
            calls.append(name)
            (ctx.out / "artifact.txt").write_text(name)
            return {"n": len(calls)}

        return fn

    return [
        Step("a", make("a"), sections=("seed",)),
        Step("b", make("b"), sections=("model",), deps=("a",)),
        Step("c", make("c"), deps=("b",)),
    ]


def test_second_run_skips_everything(tmp_path):
    calls = []
    run_steps(_steps(calls), get_recipe("micro"), tmp_path)
    run_steps(_steps(calls), get_recipe("micro"), tmp_path)
    assert calls == ["a", "b", "c"]


def test_config_change_reruns_the_stage_and_downstream_only(tmp_path):
    calls = []
    run_steps(_steps(calls), get_recipe("micro"), tmp_path)
    r = get_recipe("micro")
    r.model.n_layers = 1
    run_steps(_steps(calls), r, tmp_path)
    assert calls == ["a", "b", "c", "b", "c"]


def test_from_reruns_from_that_stage(tmp_path):
    calls = []
    run_steps(_steps(calls), get_recipe("micro"), tmp_path)
    run_steps(_steps(calls), get_recipe("micro"), tmp_path, start_from="b")
    assert calls == ["a", "b", "c", "b", "c"]
    with pytest.raises(Exception, match="no such stage"):
        run_steps(_steps(calls), get_recipe("micro"), tmp_path, start_from="zz")


def test_interrupted_run_resumes_at_the_unfinished_stage(tmp_path):
    calls = []
    with pytest.raises(KeyboardInterrupt):
        run_steps(_steps(calls, fail_at="c"), get_recipe("micro"), tmp_path)
    run_steps(_steps(calls), get_recipe("micro"), tmp_path)
    assert calls == ["a", "b", "c"]


def test_directory_of_a_different_run_is_refused(tmp_path):
    run_steps(_steps([]), get_recipe("micro"), tmp_path)
    with pytest.raises(RunDirError, match="--force"):
        run_steps(_steps([]), get_recipe("tiny"), tmp_path)
    calls = []
    run_steps(_steps(calls), get_recipe("tiny"), tmp_path, force=True)
    assert calls == ["a", "b", "c"]


def test_a_rerun_with_new_inputs_starts_from_an_empty_directory(tmp_path):
    calls = []
    run_steps(_steps(calls), get_recipe("micro"), tmp_path)
    (tmp_path / "b" / "stale.txt").write_text("from the old inputs")
    r = get_recipe("micro")
    r.model.n_layers = 1
    run_steps(_steps(calls), r, tmp_path)
    assert not (tmp_path / "b" / "stale.txt").exists()


def test_an_interrupted_stage_keeps_its_partial_work_for_resume(tmp_path):
    calls = []
    with pytest.raises(KeyboardInterrupt):
        run_steps(_steps(calls, fail_at="c"), get_recipe("micro"), tmp_path)
    (tmp_path / "c" / "partial.ckpt").write_text("resume me")
    run_steps(_steps(calls), get_recipe("micro"), tmp_path)
    assert (tmp_path / "c" / "partial.ckpt").exists()

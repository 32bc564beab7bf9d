"""Progress: a tqdm bar on a terminal; plain log lines with rate and ETA anywhere else."""

import io
import logging

from tqdm import tqdm

from compass.utils import progress
from compass.utils.progress import LogBar, progress_bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_redrawn_bar():
    file = _Terminal()
    bar = progress_bar(total=3, desc="work", file=file)
    assert type(bar) is tqdm
    bar.update(3)
    bar.close()
    assert "\r" in file.getvalue()


def test_a_file_gets_log_lines_with_rate_and_eta_and_no_bar(monkeypatch, caplog):
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    caplog.set_level(logging.INFO)
    file = io.StringIO()
    bar = progress_bar(total=4, desc="tokenize", unit="doc", file=file)
    assert isinstance(bar, LogBar)
    bar.update(1)
    bar.update(1)
    bar.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("tokenize: 1/4 doc (25%), ") and "doc/s, ETA " in lines[0]
    assert lines[-1].startswith("tokenize: 2/4 doc (50%), ") and ", took " in lines[-1]
    assert {r.name for r in caplog.records} == {__name__}  # the caller's logger
    assert file.getvalue() == ""


def test_log_lines_are_spaced_out(caplog):
    caplog.set_level(logging.INFO)
    for _ in progress_bar(range(1000), desc="items", file=io.StringIO()):
        pass
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("items: 1000/1000 it (100%)")


def test_a_disabled_bar_says_nothing(caplog):
    caplog.set_level(logging.INFO)
    with progress_bar(total=2, disable=True, file=io.StringIO()) as bar:
        bar.update(2)
    assert not caplog.records

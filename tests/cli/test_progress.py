"""The progress line: counts that move, stage names without a bar, nothing off a terminal."""

from __future__ import annotations

import io

from blinareg.cli import _options


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_stages_and_counts_and_never_a_bar_stuck_at_zero(monkeypatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(_options.sys, "stderr", terminal)
    with _options.progress("import", stages=("reading", "validating", "writing")) as update:
        update("reading", 0, 1)
        update("validating", 0, 1)
        update("writing", 0, 40)
        update("writing", 25, 40)
        update("writing", 40, 40)
    shown = terminal.getvalue()
    assert "import 1/3: reading" in shown and "import 2/3: validating" in shown
    assert "import 3/3: writing" in shown and "25/40" in shown and "40/40" in shown
    # Uncounted stages show their name and the elapsed time only: no percentage, no empty bar.
    for line in shown.replace("\r", "\n").splitlines():
        if "reading" in line or "validating" in line:
            assert "%" not in line and "/1" not in line, line


def test_progress_is_silent_off_a_terminal(monkeypatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(_options.sys, "stderr", pipe)
    with _options.progress("report", stages=("loading", "writing")) as update:
        update("loading", 0, 1)
        update("writing", 3, 10)
    assert pipe.getvalue() == ""

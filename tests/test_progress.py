"""Compile progress: named phases, shown only when slow, no carriage returns off a terminal."""
import io
import time

from algebrac import progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(stream, delay, work=0.3):
    with progress.compiling("f", stream=stream, delay=delay) as bar:
        bar.phase("simplify")
        time.sleep(work)
        progress.phase("C compiler")  # the module-level hook reaches the same report
        time.sleep(work)
    return stream.getvalue()


def test_fast_compiles_print_nothing(monkeypatch):
    monkeypatch.setenv("ALGEBRAC_PROGRESS", "1")
    assert _run(io.StringIO(), delay=5.0, work=0.01) == ""
    assert _run(_Terminal(), delay=5.0, work=0.01) == ""


def test_log_stream_gets_one_plain_line_per_phase(monkeypatch):
    monkeypatch.setenv("ALGEBRAC_PROGRESS", "1")
    text = _run(io.StringIO(), delay=0.1)
    lines = text.splitlines()
    assert "\r" not in text
    assert lines[0] == "algebrac: compiling f: simplify"
    assert lines[1] == "algebrac: compiling f: C compiler"
    assert lines[-1].startswith("algebrac: compiled f in ") and len(lines) == 3


def test_terminal_line_is_rewritten_and_erased(monkeypatch):
    monkeypatch.setenv("ALGEBRAC_PROGRESS", "1")
    text = _run(_Terminal(), delay=0.1)
    assert "\n" not in text
    assert "\ralgebrac: compiling f: simplify [0 s]" in text
    assert "algebrac: compiling f: C compiler" in text
    assert text.endswith("\r") and text.rsplit("\r", 2)[-2].strip() == ""


def test_silenced_and_nested(monkeypatch):
    monkeypatch.setenv("ALGEBRAC_PROGRESS", "0")
    assert _run(io.StringIO(), delay=0.0, work=0.05) == ""
    monkeypatch.setenv("ALGEBRAC_PROGRESS", "1")
    outer = io.StringIO()
    with progress.compiling("outer", stream=outer, delay=0.0) as bar:
        with progress.compiling("inner", stream=io.StringIO()) as inner:
            assert inner is bar  # the build step joins the whole compile's report
            inner.phase("cython")
        time.sleep(0.1)
    assert "compiling outer: cython" in outer.getvalue()

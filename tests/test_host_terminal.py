"""Output for a person at a terminal vs. piped output: `run` tables, `fetch --every` / `mirror --every` status.

The TTY paths are tried by forcing the renderer (`cli.terminal_for`) onto the captured stdout with a fixed
width and no colour; `cli.sleep` only records, so nothing waits.
"""

from __future__ import annotations

import json
import re

import pytest

from host_helpers import Host, host  # noqa: F401 - `host` is a fixture
from xsoar_local import cli
from xsoar_local.terminal import Terminal, split_tables

WIDTH = 60
GUID = "0b5d5a3e-6f1c-4c1e-9a8e-2f7d3b1c9e44"
ERASE = "\r\x1b[2K"


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "terminal_for", lambda stream: Terminal(stream, width=WIDTH, color=False))


@pytest.fixture
def wide_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "terminal_for", lambda stream: Terminal(stream, width=120, color=False))


def _visible(out: str) -> list[str]:
    return [line.rstrip() for line in out.splitlines()]


# region run

def test_piped_run_prints_the_markdown_exactly(host: Host) -> None:
    """Given stdout that is not a terminal, then HumanReadable is printed as the integration wrote it."""
    host.instance()
    result = host("run", "fake-table")
    assert result.code == 0
    assert result.lines() == [
        "### Incidents (2 results)", "|ID|Title|Severity|", "|---|---|---|",
        f"| {GUID} | {' '.join(['Sign-in from an unusual location'] * 3)} | High |",
        "| 2 | a\\|b<br>second line | Low |", "", "See **Sentinel** for more."]


def test_json_stays_json_on_a_terminal(host: Host, tty: None) -> None:
    host.instance()
    result = host("run", "--json", "fake-table")
    assert result.json()[0]["HumanReadable"].startswith("### Incidents (2 results)\n|ID|Title|Severity|")


def test_run_on_a_terminal_renders_tables_aligned_and_wrapped(host: Host, tty: None) -> None:
    """Given a terminal 60 columns wide, then the table has no markdown syntax left, no line is wider than the
    terminal, each column starts at the same place on every line, the long GUID is folded (not cut), an
    escaped pipe is a pipe and <br> a line break; the text around the table is rendered too."""
    host.instance()
    result = host("run", "fake-table")
    assert result.code == 0
    lines = _visible(result.out)
    assert lines[0] == "Incidents (2 results)"
    assert all(len(line) <= WIDTH for line in lines)
    assert not any("|---" in line or line.startswith("|") for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("ID"))
    title_at, severity_at = lines[header].index("Title"), lines[header].index("Severity")
    body = lines[header + 2:]
    rows = [line for line in body if line and not line.startswith("See ")]
    assert all(line[title_at - 1] == " " for line in rows if len(line) > title_at)
    first_column = "".join(line[:title_at].strip() for line in rows[:2])
    assert first_column == GUID
    assert any(line[title_at:].startswith("a|b") for line in rows)
    assert any(line[title_at:].strip() == "second line" for line in rows)
    assert [line[severity_at:].strip() for line in rows if line[severity_at:].strip()] == ["High", "Low"]
    assert lines[-1] == "See Sentinel for more."


def test_split_tables_keeps_prose_and_tables_in_order() -> None:
    text = "# Title\nintro\n|a|b|\n|:---|---:|\n|1|x\\|y|\n|2|\ntail"
    assert list(split_tables(text)) == [("text", "# Title\nintro"), ("table", [["a", "b"], ["1", "x|y"], ["2"]]),
                                        ("text", "tail")]


def test_a_pipe_line_without_separator_is_prose() -> None:
    assert list(split_tables("|not a table|\nsecond")) == [("text", "|not a table|\nsecond")]

# endregion


# region fetch --every / mirror --every

def _status_lines(out: str) -> list[str]:
    """What the status line showed, in order (each ERASE starts a new picture of it); durations read `in Ts`."""
    return [re.sub(r" in \d+\.\ds", " in Ts", part.rstrip("\n")) for part in out.split(ERASE) if part.strip()]


def test_fetch_every_on_a_terminal_updates_one_status_line(host: Host, wide_tty: None) -> None:
    """Given fetch --every 3 --cycles 2 on a terminal, then one status line is redrawn in place: the cycle, the
    incidents so far and a countdown to the next cycle once a second; only the last picture ends the line."""
    host.instance()
    result = host("fetch", "--every", "3", "--cycles", "2")
    assert result.code == 0
    pictures = _status_lines(result.out)
    assert pictures[0] == "fetch cycle 1 ok in Ts; 2 incidents in 1 cycle(s); lastRun 47 B"
    countdown = [re.search(r"next in (\d+)s", p).group(1) for p in pictures if "next in" in p]
    assert countdown == ["3", "2", "1"]
    assert pictures[-1] == "fetch cycle 2 ok in Ts; 4 incidents in 2 cycle(s); lastRun 47 B"
    assert result.out.endswith("lastRun 47 B\n") and result.out.count("\n") == 1
    assert len(host.sleeps) == 3 and 2.0 < sum(host.sleeps) <= 3.0


def test_a_failed_cycle_stays_on_screen_above_the_status_line(host: Host, wide_tty: None) -> None:
    """Given a first cycle that fails, then its report line is printed for good, and the status goes on."""
    host.instance("fail_on_runs: '1'\n")
    result = host("fetch", "--every", "0", "--cycles", "2")
    assert result.code == 0
    pictures = _status_lines(result.out)
    assert pictures[0].startswith("cycle 1 FAILED in ") and pictures[0].endswith("retries: 1)")
    assert pictures[1].startswith("fetch cycle 1 FAILED in Ts; 0 incidents in 1 cycle(s)")
    assert pictures[-1] == "fetch cycle 1 ok in Ts; 2 incidents in 2 cycle(s); lastRun 47 B"


def test_fetch_every_piped_or_json_stays_one_line_per_cycle(host: Host, tty: None) -> None:
    """Given --json (even on a terminal), then each cycle is one JSON object on its own line, nothing redrawn."""
    host.instance()
    result = host("fetch", "--json", "--every", "3", "--cycles", "2")
    assert ERASE not in result.out
    assert [json.loads(line)["cycle"] for line in result.lines()] == [1, 2]
    assert host.sleeps and len(host.sleeps) == 1


def test_mirror_every_on_a_terminal_updates_one_status_line(host: Host, wide_tty: None) -> None:
    host.instance(f"mirror_direction: Incoming And Outgoing\nremote_file: {host.root / 'remote.json'}\n")
    assert host("fetch", "--json").code == 0
    assert host("incidents", "edit", "1", "severity=High").code == 0
    result = host("mirror", "--every", "2", "--cycles", "2")
    assert result.code == 0, result.err
    pictures = _status_lines(result.out)
    assert pictures[0] == "mirror cycle 1 ok in Ts; 0 pulled, 1 pushed, 0 error(s) in 1 cycle(s)"
    assert [p for p in pictures if "next in" in p][0].startswith("mirror cycle 1 ok in Ts (next in 2s); ")
    assert pictures[-1] == "mirror cycle 2 ok in Ts; 1 pulled, 1 pushed, 0 error(s) in 2 cycle(s)"


def test_the_status_line_is_cut_to_the_terminal_width(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    terminal = Terminal(sys.stdout, width=20, color=False)
    terminal.status("x" * 50)
    terminal.finish()
    out = capsys.readouterr().out
    assert out == ERASE + "x" * 18 + "…\n"

# endregion

"""The `azure-sentinel` CLI end to end, on the fixture integration (tests/fixtures/fake_integration.py).

The host is pointed at the fixture through $AZURE_SENTINEL_MODULE; its manifest is the .yml beside it.
Each test runs in its own directory, so the default ./instance.yml and ./.azure-sentinel/ are used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from xsoar_local import cli
from xsoar_local.state import State

FIXTURES = Path(__file__).parent / "fixtures"
MODULE = FIXTURES / "fake_integration.py"
BASE_INSTANCE = "subscriptionID: sub-1\ncredentials: ${TEST_CLIENT_SECRET}\n"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[str]:
        return self.out.splitlines()


class Host:
    """Runs `azure-sentinel` in-process in a scratch directory and captures what it prints."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root, self._capsys = root, capsys
        self.sleeps: list[float] = []

    def instance(self, extra: str = "", base: str = BASE_INSTANCE, name: str = "instance.yml") -> Path:
        path = self.root / name
        path.write_text(base + extra, encoding="utf-8")
        return path

    def __call__(self, *argv: str) -> Result:
        self._capsys.readouterr()
        code = cli.main(list(argv))
        captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def state(self) -> State:
        return State(self.root / ".azure-sentinel" / "state.sqlite")


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Host:
    for var in ("AZURE_SENTINEL_MANIFEST", "AZURE_SENTINEL_INSTANCE", "AZURE_SENTINEL_STATE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AZURE_SENTINEL_MODULE", str(MODULE))
    monkeypatch.setenv("TEST_CLIENT_SECRET", "s3cret")
    monkeypatch.setattr(sys, "_fake_integration_runs", 0, raising=False)
    monkeypatch.chdir(tmp_path)
    h = Host(tmp_path, capsys)
    monkeypatch.setattr(cli, "sleep", h.sleeps.append)
    return h


# region run

def test_run_prints_human_readable_and_fills_defaults(host: Host) -> None:
    """Given a valid instance, when a command runs, then its HumanReadable is printed with exit 0,
    the bare word went to the default argument, defaultValue was filled and isArray stays a string."""
    host.instance()
    result = host("run", "fake-echo", "hello", "incident_id=7", "labels=a, b")
    assert result.code == 0, result.err
    assert result.lines()[0] == "## Echo"
    assert json.loads(result.lines()[1]) == {"incident_id": "7", "labels": "a, b", "limit": "50", "message": "hello"}
    assert result.err == ""


def test_run_passes_params_as_the_platform_does(host: Host) -> None:
    """Given strings for booleans, a plain secret and a comma multi-select, when run with --json,
    then the integration sees bools, a credentials dict, a list, and manifest defaults."""
    host.instance("insecure: 'yes'\nstatuses_to_fetch: New, Active\n")
    entries = host("run", "--json", "fake-echo", "incident_id=1").json()
    params = entries[0]["Contents"]["params"]
    assert params["insecure"] is True
    assert params["isFetch"] is False
    assert params["credentials"] == {"identifier": "", "password": "s3cret"}
    assert params["statuses_to_fetch"] == ["New", "Active"]
    assert params["min_severity"] == "Informational"
    assert params["limit"] == "20"
    assert "tenant_id" not in params


def test_env_mapping_applies_only_while_the_integration_runs(host: Host) -> None:
    """Given `env: {REQUESTS_CA_BUNDLE: ${CA:-/tmp/ca.pem}}`, when a command runs, then the integration
    sees it, and the host's environment is unchanged afterwards."""
    host.instance("env:\n  REQUESTS_CA_BUNDLE: ${CA_FILE:-/tmp/ca.pem}\n")
    entries = host("run", "--json", "fake-echo", "incident_id=1").json()
    assert entries[0]["Contents"]["ca_bundle"] == "/tmp/ca.pem"
    assert "REQUESTS_CA_BUNDLE" not in os.environ


def test_note_without_human_readable_prints_contents_as_json(host: Host) -> None:
    host.instance()
    result = host("run", "fake-raw")
    assert result.code == 0
    assert json.loads(result.out) == {"raw": True}


def test_error_entry_goes_to_stderr_with_exit_1(host: Host) -> None:
    """Given a command that returns an error entry, then `Error: ...` is on stderr and the exit code is 1."""
    host.instance()
    result = host("run", "fake-error")
    assert result.code == 1
    assert result.out == ""
    assert result.err == "Error: Incident 42 was not found (404 NotFound): check the ID.\n"


def test_error_entry_with_json_is_listed_and_exits_1(host: Host) -> None:
    host.instance()
    result = host("run", "--json", "fake-error")
    assert result.code == 1
    assert result.json() == [{"Type": 4, "ContentsFormat": "text",
                              "Contents": "Incident 42 was not found (404 NotFound): check the ID."}]


def test_exception_becomes_an_error_entry_with_exit_1(host: Host) -> None:
    host.instance()
    result = host("run", "fake-raise")
    assert result.code == 1
    assert result.err == "Error: The integration raised ValueError: unexpected payload\n"


def test_options_may_follow_the_command(host: Host) -> None:
    host.instance()
    result = host("run", "fake-echo", "incident_id=1", "--json", "severity=High")
    assert result.code == 0
    assert result.json()[0]["Contents"]["args"]["severity"] == "High"


def test_each_run_loads_the_module_fresh_and_context_persists(host: Host) -> None:
    """Given two runs, then each executed the module file anew (module globals start over; the
    process-wide run counter advances) and the integration context written by the first is seen by the second."""
    host.instance()
    before = sys.modules.get("demistomock")
    first = host("run", "--json", "fake-count").json()[0]["Contents"]
    second = host("run", "--json", "fake-count").json()[0]["Contents"]
    assert (first["loads"], second["loads"]) == (1, 1)
    assert second["run"] == first["run"] + 1
    assert (first["count"], second["count"]) == (1, 2)
    with host.state() as state:
        assert state.context() == {"count": 2}
    assert sys.modules.get("demistomock") is before  # the stand-in is removed again after each run


@pytest.mark.parametrize(("argv", "extra", "fragment"), [
    pytest.param(["run", "fake-ech"], "", "unknown command 'fake-ech'. Did you mean 'fake-echo'?", id="unknown-command"),
    pytest.param(["run", "fake-echo", "incident_idd=1"], "", "unknown argument 'incident_idd'. Did you mean 'incident_id'?",
                 id="unknown-arg"),
    pytest.param(["run", "fake-echo"], "", "argument 'incident_id' is required; add incident_id=<value>.", id="required-arg"),
    pytest.param(["run", "fake-echo", "incident_id=1", "severity=Hihg"], "",
                 "argument 'severity' must be one of High, Medium, Low, Informational; got 'Hihg'. Did you mean 'High'?",
                 id="predefined"),
    pytest.param(["run", "fake-echo", "incident_id=1", "status=New,Done"], "",
                 "argument 'status' must be a comma-separated list of New, Active, Closed; got 'Done'.",
                 id="predefined-array"),
    pytest.param(["run", "fake-echo", "incident_id=1", "incident_id=2"], "", "argument 'incident_id' is given twice",
                 id="arg-twice"),
    pytest.param(["run", "fake-count", "oops"], "", "'oops' is not name=value; write it as <argument>=oops.",
                 id="bare-word"),
    pytest.param(["run", "fetch-incidents"], "", "use `azure-sentinel fetch`", id="fetch-via-run"),
    pytest.param(["run"], "", "give a COMMAND [name=value ...]; commands: ", id="no-command"),
    pytest.param(["run", "fake-count"], "subscriptionId: x\n",
                 "instance.yml: unknown parameter 'subscriptionId'. Did you mean 'subscriptionID'?", id="unknown-param"),
    pytest.param(["run", "fake-count"], "min_severity: Critical\n",
                 "parameter 'min_severity' (The minimum severity of incidents to fetch) must be one of "
                 "Informational, Low, Medium, High; got 'Critical'.", id="single-select"),
    pytest.param(["run", "fake-count"], "statuses_to_fetch: [New, Open]\n",
                 "parameter 'statuses_to_fetch' (Incident Statuses to Fetch) must be one of New, Active, Closed; "
                 "got 'Open'.", id="multi-select"),
    pytest.param(["run", "fake-count"], "insecure: maybe\n", "must be true or false; got 'maybe'.", id="boolean"),
    pytest.param(["run", "fake-count"], "credentials: {identifier: a, pasword: b}\n",
                 "has unknown key 'pasword'. Did you mean 'password'?", id="credentials-key"),
    pytest.param(["run", "fake-count"], "tenant_id: ${NOT_SET_ANYWHERE}\n",
                 "instance.yml: tenant_id: environment variable NOT_SET_ANYWHERE is not set; export NOT_SET_ANYWHERE=...",
                 id="unset-env-var"),
    pytest.param(["run", "--bogus", "fake-count"], "", "unrecognized arguments: --bogus", id="bad-option"),
    pytest.param(["fetch", "--cycles", "0"], "", "--cycles must be 1 or more.", id="bad-cycles"),
    pytest.param(["fetch", "--every", "inf"], "", "--every must be a number of seconds from 0 to 604800 (a week).",
                 id="every-infinite"),
    pytest.param(["fetch", "--every", "nan"], "", "--every must be a number of seconds from 0 to 604800",
                 id="every-not-a-number"),
    pytest.param(["run", "fake-count"], "statuses_to_fetch: 5\n",
                 "parameter 'statuses_to_fetch' (Incident Statuses to Fetch) must be a list or a comma-separated "
                 "string, not 5.", id="multi-select-a-number"),
    pytest.param(["run", "--instance", ".", "fake-count"], "", "instance file . cannot be read (Is a directory)",
                 id="instance-a-directory"),
    pytest.param(["fetch"], "isFetch: false\n", "isFetch is false; set `isFetch: true`", id="fetch-disabled"),
    pytest.param(["frobnicate"], "", "invalid choice: 'frobnicate'", id="unknown-action"),
])
def test_usage_and_config_errors_are_one_line_with_exit_2(host: Host, argv: list[str], extra: str,
                                                          fragment: str) -> None:
    """Given a mistake, then stderr is ONE line naming it (and the fix), stdout is empty, and the exit code is 2."""
    host.instance(extra)
    result = host(*argv)
    assert result.code == 2
    assert result.out == ""
    assert len(result.err.splitlines()) == 1, result.err
    assert result.err.startswith("azure-sentinel: error: ")
    assert fragment in result.err


def test_missing_required_param_is_named(host: Host) -> None:
    host.instance(base="credentials: x\n")
    result = host("run", "fake-count")
    assert result.code == 2
    assert result.err == ("azure-sentinel: error: instance.yml: parameter 'subscriptionID' (Default Subscription ID) "
                          "is required; add `subscriptionID: <value>`.\n")


def test_missing_instance_file_names_the_fix(host: Host) -> None:
    result = host("run", "fake-count")
    assert result.code == 2
    assert "instance file instance.yml not found" in result.err and "--instance FILE" in result.err


def test_instance_path_from_environment_and_json_format(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given $AZURE_SENTINEL_INSTANCE naming a JSON file, then it is used instead of ./instance.yml."""
    path = host.root / "other.json"
    path.write_text(json.dumps({"subscriptionID": "${SUB:-from-json}"}), encoding="utf-8")
    monkeypatch.setenv("AZURE_SENTINEL_INSTANCE", str(path))
    entries = host("run", "--json", "fake-echo", "incident_id=1").json()
    assert entries[0]["Contents"]["params"]["subscriptionID"] == "from-json"


def test_console_script_runs_as_a_process(host: Host) -> None:
    """Given the installed `azure-sentinel` script, when run as a process, then exit codes carry through."""
    script = Path(sys.executable).parent / "azure-sentinel"
    executable = str(script) if script.exists() else shutil.which("azure-sentinel")
    assert executable, "the azure-sentinel console script is not installed"
    host.instance()
    ok = subprocess.run([executable, "run", "fake-count"], capture_output=True, text=True, timeout=60)
    failed = subprocess.run([executable, "run", "fake-error"], capture_output=True, text=True, timeout=60)
    usage = subprocess.run([executable, "run", "fake-cont"], capture_output=True, text=True, timeout=60)
    assert (ok.returncode, failed.returncode, usage.returncode) == (0, 1, 2), (ok.stderr, failed.stderr, usage.stderr)
    assert ok.stdout == "count=1\n"


def test_emulator_subcommand_delegates_to_the_emulator_cli(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("sentinel_emulator.cli")
    fake.main = lambda argv: seen.append(argv) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sentinel_emulator.cli", fake)
    import sentinel_emulator

    monkeypatch.setattr(sentinel_emulator, "cli", fake, raising=False)
    assert host("emulator", "--port", "0", "--seed", "3").code == 0
    assert seen == [["--port", "0", "--seed", "3"]]

# endregion


# region fetch

def test_fetch_commits_incidents_last_run_and_context_together(host: Host) -> None:
    """Given a fetch that succeeds, then its incidents, its lastRun and its context are stored,
    the cycle is reported on one line, and the next fetch starts from that lastRun."""
    host.instance()
    first = host("fetch")
    assert first.code == 0, first.err
    assert first.out == ("cycle 1 ok in 0.0s: 2 incidents, lastRun 47 B {emitted last_number=2}, "
                         "retries: 1\n")
    assert host("fetch").code == 0
    with host.state() as state:
        assert [i.id for i in state.incidents()] == ["guid-1", "guid-2", "guid-3", "guid-4"]
        assert [i.cycle for i in state.incidents()] == [1, 1, 2, 2]
        assert [i.number for i in state.incidents()] == [1, 2, 3, 4]
        assert state.last_run() == {"last_number": 4, "emitted": ["guid-3", "guid-4"]}
        assert state.context() == {"token": "token-2"}
        assert state.cycles() == 2


@pytest.mark.parametrize(("mode", "reason"), [
    pytest.param("raise_after_incidents", "The integration raised RuntimeError: Sentinel returned 503 on page 2",
                 id="raises-after-incidents"),
    pytest.param("error_entry", "Failed to fetch: 403 AuthorizationFailed.", id="error-entry"),
    pytest.param("no_last_run", "the integration did not call setLastRun", id="no-setLastRun"),
])
def test_failed_fetch_commits_no_incidents_and_no_last_run(host: Host, mode: str, reason: str) -> None:
    """Given a fetch that hands over incidents and then fails, then no incident and no lastRun is stored,
    the exit code is 1, and only the integration context (the token cache) is saved."""
    host.instance(f"fetch_mode: {mode}\n")
    result = host("fetch")
    assert result.code == 1
    assert result.out.startswith("cycle 1 FAILED in ")
    assert reason in result.out
    assert "lastRun and incidents not committed; token cache/context saved" in result.out
    with host.state() as state:
        assert state.incidents() == []
        assert state.last_run() == {}
        assert state.cycles() == 0
        assert state.context() == {"token": "token-1"}


def test_a_failed_cycle_is_retried_with_the_old_last_run(host: Host) -> None:
    """Given a loop whose second execution fails, then the next cycle fetches the same window again:
    every incident arrives exactly once and the loop exits 0 because the last cycle succeeded."""
    host.instance("fail_on_runs: '2'\n")
    result = host("fetch", "--every", "5", "--cycles", "3")
    assert result.code == 0
    lines = result.lines()
    assert [line.split(" in ")[0] for line in lines] == ["cycle 1 ok", "cycle 2 FAILED", "cycle 2 ok"]
    assert len(host.sleeps) == 2 and all(0 <= s <= 5 for s in host.sleeps)
    with host.state() as state:
        assert [i.id for i in state.incidents()] == ["guid-1", "guid-2", "guid-3", "guid-4"]


def test_exit_code_is_1_when_the_last_cycle_failed(host: Host) -> None:
    host.instance("fail_on_runs: '2'\n")
    assert host("fetch", "--cycles", "2").code == 1


def test_fetch_json_prints_one_object_per_cycle(host: Host) -> None:
    host.instance("fail_on_runs: '2'\n")
    result = host("fetch", "--json", "--cycles", "2")
    reports = [json.loads(line) for line in result.lines()]
    assert [(r["cycle"], r["ok"], r["incidents"]) for r in reports] == [(1, True, 2), (2, False, 0)]
    assert reports[0]["cursor"] == {"last_number": 2}
    assert reports[0]["last_run_keys"] == ["emitted", "last_number"]
    assert reports[0]["last_run_bytes"] == 47 and reports[0]["retries"] == 1
    assert reports[1]["error"].startswith("The integration raised RuntimeError")


def test_every_without_cycles_runs_until_interrupted(host: Host, monkeypatch: pytest.MonkeyPatch) -> None:
    host.instance()

    def sleep(seconds: float) -> None:
        host.sleeps.append(seconds)
        if len(host.sleeps) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "sleep", sleep)
    result = host("fetch", "--every", "0")
    assert result.code == 0
    assert len(result.lines()) == 3
    assert result.err == "stopped after 3 cycle(s).\n"


def test_commit_is_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a failure while the lastRun is written, then the incidents inserted before it are rolled back."""
    with State(tmp_path / "s.sqlite") as state:
        def broken(*_: object) -> None:
            raise RuntimeError("disk full")

        monkeypatch.setattr(state, "_write_last_run", broken)
        with pytest.raises(RuntimeError):
            state.commit_fetch([{"name": "x", "dbotMirrorId": "g"}], {"last_number": 1}, {"token": "t"})
        assert state.incidents() == [] and state.last_run() == {} and state.context() == {}

# endregion


# region incidents

def test_incidents_lists_what_was_received(host: Host) -> None:
    host.instance()
    host("fetch", "--cycles", "2")
    table = host("incidents")
    assert table.code == 0
    assert table.lines()[0].split() == ["#", "Number", "Severity", "Occurred", "Name"]
    assert table.lines()[2].split() == ["1", "1", "Medium", "2025-01-02T00:00:00Z", "Incident", "1"]
    assert table.lines()[-1] == "4 incident(s) received in 2 committed fetch cycle(s)"
    listed = host("incidents", "--json").json()
    assert [(i["id"], i["number"], i["severity"], i["cycle"]) for i in listed][:2] == [
        ("guid-1", 1, 2.0, 1), ("guid-2", 2, 2.0, 1)]
    assert json.loads(listed[0]["rawJSON"]) == {"IncidentNumber": 1, "Title": "Incident 1"}


def test_incidents_without_state_is_a_usage_error(host: Host) -> None:
    result = host("incidents", "--state", "nowhere.sqlite")
    assert result.code == 2
    assert "no state at nowhere.sqlite; run `azure-sentinel fetch` first" in result.err

# endregion


def test_a_fetch_overtaken_by_another_process_commits_nothing(tmp_path: Path) -> None:
    """Given a fetch that read lastRun at cycle 0 while another process committed cycle 1, then its commit
    is refused and nothing of it is stored."""
    from xsoar_local.state import ConcurrentFetch

    with State(tmp_path / "s.sqlite") as state:
        state.commit_fetch([{"name": "a", "dbotMirrorId": "g1"}], {"last_number": 1}, None, after_cycle=0)
        with pytest.raises(ConcurrentFetch):
            state.commit_fetch([{"name": "b", "dbotMirrorId": "g1"}], {"last_number": 1}, None, after_cycle=0)
        assert [i.id for i in state.incidents()] == ["g1"] and state.cycles() == 1


def test_an_instance_file_that_is_not_utf8_is_one_line(host: Host) -> None:
    (host.root / "binary.yml").write_bytes(b"\xff\xfe\x00bad")
    result = host("run", "--instance", "binary.yml", "fake-count")
    assert result.code == 2 and result.out == ""
    assert result.err == ("azure-sentinel: error: instance file binary.yml cannot be read (it is not UTF-8 text); "
                          "pass --instance FILE, a YAML or JSON file of params.\n")


def test_the_state_file_and_its_folder_are_readable_by_their_owner_only(host: Host) -> None:
    """The state holds cached access tokens: the folder is created 0700 and the file 0600 (an older,
    world-readable file is tightened when it is opened)."""
    host.instance()
    assert host("fetch").code == 0
    folder, state = host.root / ".azure-sentinel", host.root / ".azure-sentinel" / "state.sqlite"
    assert (folder.stat().st_mode & 0o777, state.stat().st_mode & 0o777) == (0o700, 0o600)
    state.chmod(0o644)
    assert host("incidents").code == 0
    assert state.stat().st_mode & 0o777 == 0o600


def test_a_comment_that_is_not_valid_unicode_is_stored_with_replacement_characters(host: Host) -> None:
    """Given a comment whose bytes were not UTF-8 (the shell passes them as lone surrogates), then it is
    stored with U+FFFD in their place, and the state file stays usable."""
    host.instance()
    assert host("fetch").code == 0
    added = host("incidents", "comment", "1", "x\udcffy")
    assert added.code == 0, added.err
    [entry] = host.state().entries(1)
    assert entry.contents == "x\ufffdy"
    assert host("incidents", "show", "1").code == 0


def test_control_characters_from_sentinel_are_shown_escaped(host: Host) -> None:
    """Given an incident title and a note carrying terminal escape sequences, then the table, the details
    and the printed entries show them as \\xNN instead of sending them to the terminal."""
    from xsoar_local.output import incidents_table, print_entries, printable
    from xsoar_local.state import ReceivedIncident

    title = "evil \x1b[31mRED\x1b[0m \x1b]0;pwned\x07"
    assert printable(title) == "evil \\x1b[31mRED\\x1b[0m \\x1b]0;pwned\\x07"
    assert printable("line\r\nnext\ttab") == "line\nnext\ttab"
    received = ReceivedIncident(seq=1, id="g", number=1, name=title, occurred="", severity=2.0, raw_json=None,
                                received_at=0.0, cycle=1)
    assert "\x1b" not in incidents_table([received]) and "\\x1b[31mRED" in incidents_table([received])
    import io
    out = io.StringIO()
    print_entries([{"Type": 1, "HumanReadable": title, "Contents": {}}], out=out, err=out)
    assert out.getvalue() == printable(title) + "\n"


def test_a_reader_that_closes_the_pipe_ends_the_output_quietly(host: Host) -> None:
    """Given `azure-sentinel ... | head` (the reader closes the pipe before the output is written), then the
    process ends with 141 (128 + SIGPIPE) and no traceback."""
    script = Path(sys.executable).parent / "azure-sentinel"
    host.instance()
    process = subprocess.Popen([str(script), "run", "fake-count"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # before the child has written anything: it is still importing
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err.decode()) == (141, "")

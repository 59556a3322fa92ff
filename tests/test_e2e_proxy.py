"""End to end through the CLI behind a broken proxy: one that answers every request with an HTML page
(a captive portal, a misconfigured corporate proxy). The user must see one error line and exit code 1.
"""

from __future__ import annotations

import socket
import threading

import pytest
import yaml

from sentinel_emulator import Emulator
from xsoar_local import cli

PORTAL = b"<html><head><title>Sign in to the guest Wi-Fi</title></head><body>Accept the terms</body></html>"


class HtmlProxy:
    """A loopback 'proxy' that answers anything (CONNECT included) with 200 and an HTML page."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    head = conn.recv(65536)
                    self.requests.append(head.split(b"\r\n", 1)[0])
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                                 + str(len(PORTAL)).encode() + b"\r\n\r\n" + PORTAL)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxy():
    server = HtmlProxy()
    yield server
    server.close()


def test_run_behind_a_proxy_answering_html_prints_one_error_line_and_exits_1(tmp_path, proxy, capsys, monkeypatch):
    """Given the instance uses the system proxy and that proxy answers HTML to everything, when a user runs
    test-module, then stderr holds exactly one error line naming the proxy/TLS fix, and the exit code is 1."""
    with Emulator(seed=3) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_path)
        params = {**emu.params(), "proxy": True}
        params["env"] = {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url, "NO_PROXY": ""}
        instance = tmp_path / "instance.yml"
        instance.write_text(yaml.safe_dump(params), encoding="utf-8")
        code = cli.main(["run", "--instance", str(instance), "--state", str(tmp_path / "s.sqlite"), "test-module"])
        assert emu.requests == [], "nothing may reach Azure around the proxy"
    out, err = capsys.readouterr()
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ") and "Traceback" not in err
    assert "proxy" in lines[0] and ("TLS" in lines[0] or "not JSON" in lines[0])
    assert any(line.startswith(b"CONNECT") for line in proxy.requests)
    assert out.strip() == ""

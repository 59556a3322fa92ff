"""Shared test fixtures.

`m`: requests-mock with Entra ID's sign-in endpoints served (module_helpers.mock_login), for the tests that
run the integration against a mocked ARM API; a test file may define its own `m` instead.

Every test runs under a network guard: a socket may connect only to loopback. Anything else
(the IMDS address 169.254.169.254 included) fails the test at once instead of leaving the machine.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_loopback(address) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            if host != "localhost":
                raise AssertionError(f"test tried to reach non-loopback host {host!r}") from None
            return
        if not ip.is_loopback:
            raise AssertionError(f"test tried to reach non-loopback address {host!r}")


def _guarded_connect(self, address):
    _check_loopback(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_loopback(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Given any test, when it opens a socket to a non-loopback address, then it fails."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield


@pytest.fixture
def m():
    import requests_mock

    from module_helpers import mock_login

    with requests_mock.Mocker() as mocker:
        mock_login(mocker)
        yield mocker

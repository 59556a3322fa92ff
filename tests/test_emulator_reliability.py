"""ARM-like throttling and fault injection in the emulator (injected clock; no sleeping)."""

from __future__ import annotations

import pytest
import requests

from sentinel_emulator import Emulator, FakeClock, Limit
from sentinel_emulator.faults import parse_faults

from test_emulator_api import Arm


def _mi_token(emu: Emulator, arm: Arm) -> str:
    response = arm.session.get(f"{emu.base_url}/msi/token", params={
        "api-version": "2019-08-01", "resource": emu.base_url},
        headers={"X-IDENTITY-HEADER": emu.env()["IDENTITY_HEADER"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


# region throttling


def test_reads_are_throttled_per_principal_with_retry_after():
    """Given a read bucket of 3 refilling 1/s, the 4th read is a 429 with Retry-After; after the clock
    moves 1 s it succeeds; writes and other principals have their own buckets."""
    clock = FakeClock()
    with Emulator(seed=2, clock=clock, reads=Limit(3, 1.0), writes=Limit(2, 1.0)) as emu:
        arm = Arm(emu)
        remaining = []
        for _ in range(3):
            ok = arm.call("GET", "/incidents")
            assert ok.status_code == 200
            remaining.append(ok.headers["x-ms-ratelimit-remaining-subscription-reads"])
        assert remaining == ["2", "1", "0"]
        throttled = arm.call("GET", "/incidents")
        assert throttled.status_code == 429
        assert throttled.json()["error"]["code"] == "TooManyRequests"
        assert throttled.headers["Retry-After"] == "1"
        assert throttled.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"

        write = arm.call("PUT", "/incidents/c8b2e9f4-3333-4d4d-9e5e-7f8091a2b3c4",
                         json={"properties": {"title": "t", "severity": "Low", "status": "New"}})
        assert write.status_code == 201
        assert write.headers["x-ms-ratelimit-remaining-subscription-writes"] == "1"

        other = Arm(emu, token=_mi_token(emu, arm))
        assert other.call("GET", "/incidents").status_code == 200

        clock.advance(1.0)
        assert arm.call("GET", "/incidents").status_code == 200
        assert arm.call("GET", "/incidents").status_code == 429


def test_default_limits_match_arm():
    """Given the defaults, 250 reads pass and the 251st is throttled; the bucket refills 25 per second."""
    clock = FakeClock()
    emu = Emulator(clock=clock)
    decisions = [emu.throttle.take("app", "read").allowed for _ in range(251)]
    assert decisions.count(True) == 250 and decisions[-1] is False
    clock.advance(0.2)
    assert sum(emu.throttle.take("app", "read").allowed for _ in range(6)) == 5
    writes = [emu.throttle.take("app", "write").allowed for _ in range(201)]
    assert writes.count(True) == 200
    assert emu.throttle.take("app", "write").retry_after == 1


# endregion

# region faults


def _statuses(emu: Emulator, calls: int) -> list[int]:
    arm = Arm(emu)
    return [arm.call("GET", "/incidents", params={"$top": 1}).status_code for _ in range(calls)]


def test_fault_injection_is_deterministic_for_a_seed():
    spec = "429=0.2,500=0.1,503=0.1,seed=42"
    with Emulator(seed=1, faults=spec) as one, Emulator(seed=1, faults=spec) as two:
        first, second = _statuses(one, 40), _statuses(two, 40)
    assert first == second
    assert {429, 500, 503, 200} <= set(first)
    with Emulator(seed=1, faults="429=0.2,500=0.1,503=0.1,seed=43") as other:
        assert _statuses(other, 40) != first


def test_injected_429_carries_retry_after_and_arm_error_body():
    with Emulator(seed=1, faults="429=1,retry_after=3") as emu:
        response = Arm(emu).call("GET", "/incidents")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert response.json()["error"]["code"] == "TooManyRequests"
        emu.set_faults("429=1")
        assert Arm(emu).call("GET", "/incidents").headers["Retry-After"] == "1"
        assert emu.requests[-1].fault == "429"


def test_faults_spare_token_endpoints_unless_scoped_to_them():
    with Emulator(seed=1, faults="503=1") as emu:
        arm = Arm(emu)  # the token request succeeds
        assert arm.call("GET", "/incidents").status_code == 503
        emu.set_faults("token:503=1")
        token = arm.session.post(f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": emu.client_id,
            "client_secret": emu.client_secret, "scope": f"{emu.base_url}/.default"})
        assert token.status_code == 503 and token.json()["error"] == "temporarily_unavailable"
        assert arm.call("GET", "/incidents").status_code == 200


def test_list_scoped_faults_only_hit_list_calls():
    with Emulator(seed=3, faults="list:503=1") as emu:
        arm = Arm(emu)
        name = emu.store.incidents()[0]["name"]
        assert arm.call("GET", f"/incidents/{name}").status_code == 200
        assert arm.call("POST", f"/incidents/{name}/alerts").status_code == 200
        assert arm.call("GET", "/incidents").status_code == 503
        assert arm.call("GET", f"/incidents/{name}/comments").status_code == 503


def test_outage_makes_every_arm_call_503_until_lifted():
    with Emulator(seed=1) as emu:
        arm = Arm(emu)
        emu.set_outage(True)
        assert arm.call("GET", "/incidents").status_code == 503
        assert arm.call("PUT", "/incidents/x", json={}).status_code == 503
        assert Arm(emu).token  # token endpoint still answers
        emu.set_outage(False)
        assert arm.call("GET", "/incidents").status_code == 200
    with Emulator(seed=1, faults="outage=1") as emu:
        assert Arm(emu).call("GET", "/incidents").status_code == 503


def test_reset_closes_the_connection_without_a_response():
    with Emulator(seed=1) as emu:
        arm = Arm(emu)
        emu.set_faults("reset=1")
        with pytest.raises(requests.exceptions.ConnectionError):
            arm.call("GET", "/incidents")
        assert emu.requests[-1].status is None and emu.requests[-1].fault == "reset"
        emu.set_faults("")
        assert arm.call("GET", "/incidents").status_code == 200


def test_latency_is_added_to_arm_calls_only():
    with Emulator(seed=1, latency_ms=250) as emu:
        slept: list[float] = []
        emu.app.sleep = slept.append
        arm = Arm(emu)
        assert slept == []  # the token call is not delayed
        arm.call("GET", "/incidents")
        assert slept == [0.25]


@pytest.mark.parametrize("spec, message", [
    pytest.param("429", "kind=value", id="no-value"),
    pytest.param("418=0.1", "unknown fault", id="unknown-fault"),
    pytest.param("nowhere:429=0.1", "unknown fault scope", id="unknown-scope"),
    pytest.param("429=2", "between 0 and 1", id="probability"),
    pytest.param("outage=maybe", "outage", id="outage"),
])
def test_fault_spec_errors_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_faults(spec)


def test_fault_spec_grammar():
    plan = parse_faults(" 429=0.08, 500=0.04,503=0.01, reset=0.01, outage=0, list:502=0.5, retry_after=2, seed=9 ")
    assert [(f.scope, f.kind, f.probability) for f in plan.faults] == [
        ("arm", "429", 0.08), ("arm", "500", 0.04), ("arm", "503", 0.01), ("arm", "reset", 0.01),
        ("list", "502", 0.5)]
    assert (plan.outage, plan.retry_after, plan.seed) == (False, 2, 9)


# endregion

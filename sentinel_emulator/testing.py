"""Test helpers: the spec validator for responses and an HTTPS session that trusts the emulator.

`SpecValidator` (from `sentinel_emulator.schema`) checks a JSON value against a definition of the
Swagger files in `sentinel_emulator/spec/`: no properties the spec does not define, enum values,
JSON types, required fields, `allOf` and `kind` discriminators. It shares no code with the
emulator's serializers (`views`), so it catches shapes the emulator gets wrong.
"""

from __future__ import annotations

import requests

from .schema import SPEC_DIR, Problem, SpecValidator, spec_validator

__all__ = ["SPEC_DIR", "Problem", "SpecValidator", "spec_validator", "trusting_session"]


def trusting_session(ca_path: str | None) -> requests.Session:
    """A session that trusts only the emulator's CA. `trust_env` is off because REQUESTS_CA_BUNDLE
    and CURL_CA_BUNDLE in the environment would otherwise override `verify`."""
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path if ca_path else True
    return session

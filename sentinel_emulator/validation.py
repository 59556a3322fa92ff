"""What ARM refuses before a handler runs: malformed names in the path and request bodies that do
not match the operation's schema in the spec. Each failure is one 400 with an ARM error body that
names the property (or path segment) and why.

Path rules, as ARM applies them to every resource name: no control characters and none of
``< > * % & : \\ ? / #``; a name is not empty and does not end with '.' or a space. Resource-group
names may only hold letters, digits, '-', '.', '(', ')' and '_'; subscription IDs are GUIDs;
path parameters with a pattern in the spec (relation names) must match it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from .errors import ArmError, bad_request
from .schema import Operation, Problem, SpecValidator

FORBIDDEN = set('<>*%&:\\?/#')
GROUP_NAME = re.compile(r"^[-\w.()]+$")
DESERIALIZATION = ("type", "format")  # problems a JSON deserializer hits first
MAX_LISTED = 5


def _printable(text: str) -> str:
    """The name as an error message shows it: control characters escaped."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _bad_characters(name: str) -> list[str]:
    found: list[str] = []
    for c in name:
        if (not c.isprintable() or c in FORBIDDEN) and _printable(c) not in found:
            found.append(_printable(c))
    return found


def check_path(args: dict[str, str], operation: Operation | None) -> None:
    """400 for a malformed subscription ID, resource-group name or resource name in the URL."""
    sub = args.get("sub")
    if sub is not None:
        try:
            uuid.UUID(sub)
        except ValueError:
            raise ArmError(400, "InvalidSubscriptionId",
                           f"The provided subscription identifier '{_printable(sub)}' is malformed or invalid."
                           ) from None
    group = args.get("rg")
    if group is not None and (not GROUP_NAME.match(group) or len(group) > 90):
        bad = "".join(dict.fromkeys(_printable(c) for c in group if not re.match(r"[-\w.()]", c)))
        raise ArmError(400, "InvalidResourceGroup",
                       f"The provided resource group name '{_printable(group)}' has these invalid characters: "
                       f"'{bad}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_' "
                       "(at most 90 characters).")
    for key, value in args.items():
        if key in ("sub", "rg"):
            continue
        bad = _bad_characters(value)
        if bad or not value.strip() or value.endswith((".", " ")):
            listed = ", ".join(f"'{c}'" for c in bad)
            reason = f"it contains {listed}" if bad else "it is empty or ends with '.' or ' '"
            raise ArmError(400, "InvalidResourceName",
                           f"The resource name '{_printable(value)}' is invalid: {reason}. Resource names cannot "
                           "contain control characters or any of < > * % & : \\ ? / #.")
    if operation is not None:
        _check_patterns(args, operation)


def _check_patterns(args: dict[str, str], operation: Operation) -> None:
    # route arguments are in URL order, and so are the spec's named path parameters
    values = list(args.values())
    names = [p for p in operation.template.split("/") if p.startswith("{")]
    for name, value in zip(names, values):
        spec = operation.path_parameters.get(name.strip("{}"))
        if not spec:
            continue
        pattern = spec.get("pattern")
        if (pattern and not re.match(pattern, value)) or len(value) < spec.get("minLength", 0) \
                or len(value) > spec.get("maxLength", len(value)):
            raise bad_request(f"The {spec['name']} '{_printable(value)}' is invalid: it must match {pattern}.")


def check_body(validator: SpecValidator, operation: Operation | None, body: Any) -> None:
    """400 when the body does not fit the operation's schema (see `schema` for the request rules)."""
    if operation is None or operation.body is None:
        return
    problems = validator.request_problems(operation, body)
    if not problems:
        return
    first_kind = [p for p in problems if p.kind in DESERIALIZATION]
    listed = "; ".join(_describe(p) for p in (first_kind or problems)[:MAX_LISTED])
    if first_kind:
        raise bad_request(f"The request content was invalid and could not be deserialized: {listed}.",
                          "InvalidRequestContent")
    raise bad_request(f"The request is invalid: {listed}.", "BadRequest")


def _describe(problem: Problem) -> str:
    where = f"'{problem.where}'" if problem.where else "the request body"
    return f"{where} {problem.message}"

"""OData for list calls: `$filter` (tokenizer + recursive-descent parser, no eval), `$orderby`,
`$top` and position-based `$skipToken` paging with absolute `nextLink`s.

Filter grammar (precedence low to high)::

    expr    := and ( "or" and )*
    and     := unary ( "and" unary )*
    unary   := "not" unary | "(" expr ")" [cmp] | call [cmp operand] | operand cmp operand
    call    := ( contains | startswith | endswith ) "(" operand "," operand ")"
             | search.in "(" path "," string [ "," string ] ")"
    operand := path | 'string' | number | datetime | true | false | null | tolower(...) | toupper(...)
    cmp     := eq | ne | gt | ge | lt | le

Strings are single-quoted with '' as the escape. Date-times may be unquoted
(`2026-01-01T00:00:00Z`, `2026-01-01`) or quoted; either way they compare as instants at 100 ns
precision (a date alone is midnight UTC).
String comparison is case-sensitive, as in OData.
"""

from __future__ import annotations

import base64
import hashlib
import json
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import quote, urlencode

from .clock import parse_ticks
from .errors import bad_request

Predicate = Callable[[dict], bool]
Getter = Callable[[dict], Any]
Resolver = Callable[[dict, str], Any]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_$][A-Za-z0-9_.]*(?:/[A-Za-z_$][A-Za-z0-9_.]*)*)
    """,
    re.VERBOSE,
)
_COMPARATORS = {"eq", "ne", "gt", "ge", "lt", "le"}
_KEYWORDS = _COMPARATORS | {"and", "or", "not", "true", "false", "null"}
_BOOL_FUNCS = {"contains", "startswith", "endswith", "search.in"}
_VALUE_FUNCS = {"tolower", "toupper"}


@dataclass(frozen=True)
class Token:
    kind: str  # string | datetime | number | punct | name | keyword | end
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise bad_request(f"Invalid $filter: unexpected character {text[pos]!r} at position {pos}.")
        kind = m.lastgroup or ""
        if kind != "ws":
            word = m.group()
            if kind == "name" and word.lower() in _KEYWORDS:
                tokens.append(Token("keyword", word.lower(), pos))
            else:
                tokens.append(Token(kind, word, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# region values and comparison


def sort_key(value: Any) -> list:
    """A JSON-safe, totally ordered key: [group, value]; None < bool < number < instant < string."""
    if value is None:
        return [0, 0]
    if isinstance(value, bool):
        return [1, int(value)]
    if isinstance(value, (int, float)):
        return [2, value]
    if isinstance(value, str):
        ticks = parse_ticks(value) if len(value) >= 16 and value[4:5] == "-" else None
        return [3, ticks] if ticks is not None else [4, value]
    return [5, json.dumps(value, sort_keys=True)]


def _coerce_pair(left: Any, right: Any, datetime_hint: bool) -> tuple[Any, Any] | None:
    """Bring two values to comparable types; None when they cannot be compared."""
    if isinstance(left, str) and isinstance(right, str):
        if datetime_hint or (parse_ticks(left) is not None and parse_ticks(right) is not None):
            lt, rt = parse_ticks(left), parse_ticks(right)
            if lt is not None and rt is not None:
                return lt, rt
            if datetime_hint:
                return None
        return left, right
    numeric = (int, float)
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if type(left) is type(right) else None
    if isinstance(left, numeric) and isinstance(right, numeric):
        return left, right
    if isinstance(left, numeric) and isinstance(right, str):
        try:
            return left, float(right)
        except ValueError:
            return None
    if isinstance(left, str) and isinstance(right, numeric):
        try:
            return float(left), right
        except ValueError:
            return None
    return None


def compare(op: str, left: Any, right: Any, datetime_hint: bool = False) -> bool:
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    pair = _coerce_pair(left, right, datetime_hint)
    if pair is None:
        return op == "ne"
    a, b = pair
    return _OPS[op](a, b)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}


def _against_literal(op: str, getter: Getter, literal: Any, hint: bool) -> Predicate:
    """`compare(op, getter(item), literal, hint)` with the literal's coercion done once: the common case
    of a list filter (a property against a constant) then costs one lookup and one comparison per item."""
    test = _OPS[op]
    if isinstance(literal, str):
        literal_ticks = parse_ticks(literal)

        def against_text(item: Any) -> bool:
            value = getter(item)
            if type(value) is not str:
                return compare(op, value, literal, hint)
            if literal_ticks is not None:
                ticks = parse_ticks(value)
                if ticks is not None:
                    return test(ticks, literal_ticks)
            if hint:  # a date-time comparison with a value that is not one
                return op == "ne"
            return test(value, literal)

        return against_text
    if isinstance(literal, (int, float)) and not isinstance(literal, bool):
        def against_number(item: Any) -> bool:
            value = getter(item)
            if type(value) in (int, float):
                return test(value, literal)
            return compare(op, value, literal, hint)

        return against_number
    return lambda item: compare(op, getter(item), literal, hint)


# endregion

# region parser


def path_getter(resolver: Resolver, path: str) -> Getter:
    """A one-argument getter for `path`: the resolver's own compiled one when it offers `getter(path)`
    (paths are then split once per query instead of once per item), else a call of the resolver."""
    compiled = getattr(resolver, "getter", None)
    if compiled is not None:
        return compiled(path)
    return lambda item: resolver(item, path)


def default_resolver(item: dict, path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class _Parser:
    def __init__(self, text: str, resolver: Resolver, check_path: Callable[[str], None]):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.resolver = resolver
        self.check_path = check_path
        self.constants: dict[Getter, Any] = {}  # literal operands (their getters) -> value

    # helpers
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: Token | None = None) -> Exception:
        tok = tok or self.peek()
        where = f"at position {tok.pos}" if tok.kind != "end" else "at the end"
        return bad_request(f"Invalid $filter '{self.text}': {message} {where}.")

    def expect(self, kind: str, text: str | None = None) -> Token:
        tok = self.next()
        if tok.kind != kind or (text is not None and tok.text != text):
            raise self.fail(f"expected {text or kind!r}, found {tok.text or 'end of input'!r}", tok)
        return tok

    # grammar
    def parse(self) -> Predicate:
        if self.peek().kind == "end":
            raise self.fail("the expression is empty")
        pred = self.parse_or()
        if self.peek().kind != "end":
            raise self.fail(f"unexpected {self.peek().text!r}")
        return pred

    def at_keyword(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "keyword" and tok.text == word

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.at_keyword("or"):
            self.next()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.at_keyword("and"):
            self.next()
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def parse_unary(self) -> Predicate:
        tok = self.peek()
        if self.at_keyword("not"):
            self.next()
            inner = self.parse_unary()
            return lambda item: not inner(item)
        if tok.kind == "punct" and tok.text == "(":
            self.next()
            inner = self.parse_or()
            self.expect("punct", ")")
            return self.maybe_bool_compare(inner)
        if tok.kind == "name" and tok.text.lower() in _BOOL_FUNCS and self.tokens[self.i + 1].text == "(":
            return self.maybe_bool_compare(self.parse_bool_call())
        left, left_dt = self.parse_operand()
        op = self.next()
        if op.kind != "keyword" or op.text not in _COMPARATORS:
            found = op.text or "end of input"
            raise self.fail(f"expected a comparison operator (eq, ne, gt, ge, lt, le), found {found!r}", op)
        right, right_dt = self.parse_operand()
        hint = left_dt or right_dt
        if right in self.constants and left not in self.constants:
            return _against_literal(op.text, left, self.constants[right], hint)
        if left in self.constants and right not in self.constants:
            return _against_literal(_FLIPPED[op.text], right, self.constants[left], hint)
        return lambda item: compare(op.text, left(item), right(item), hint)

    def maybe_bool_compare(self, pred: Predicate) -> Predicate:
        tok = self.peek()
        if tok.kind == "keyword" and tok.text in ("eq", "ne"):
            self.next()
            value = self.next()
            if value.kind != "keyword" or value.text not in ("true", "false"):
                raise self.fail("a boolean expression can only be compared with true or false", value)
            want = (value.text == "true") == (tok.text == "eq")
            return lambda item: pred(item) == want
        return pred

    def parse_bool_call(self) -> Predicate:
        name = self.next().text.lower()
        self.expect("punct", "(")
        if name == "search.in":
            target, _ = self.parse_operand()
            self.expect("punct", ",")
            values = self.parse_string_literal()
            sep = None
            if self.peek().text == ",":
                self.next()
                sep = self.parse_string_literal()
            self.expect("punct", ")")
            choices = {v.strip() for v in (values.split(sep) if sep else re.split(r"[ ,]", values)) if v.strip()}
            return lambda item: isinstance(target(item), str) and target(item) in choices
        first, _ = self.parse_operand()
        self.expect("punct", ",")
        second, _ = self.parse_operand()
        self.expect("punct", ")")
        test = {
            "contains": lambda a, b: b in a,
            "startswith": lambda a, b: a.startswith(b),
            "endswith": lambda a, b: a.endswith(b),
        }[name]

        def call(item: dict) -> bool:
            a, b = first(item), second(item)
            return isinstance(a, str) and isinstance(b, str) and test(a, b)

        return call

    def parse_string_literal(self) -> str:
        tok = self.next()
        if tok.kind != "string":
            raise self.fail("expected a quoted string", tok)
        return tok.text[1:-1].replace("''", "'")

    def constant(self, value: Any) -> Getter:
        getter: Getter = lambda item: value  # noqa: E731
        self.constants[getter] = value
        return getter

    def parse_operand(self) -> tuple[Getter, bool]:
        tok = self.next()
        if tok.kind == "string":
            return self.constant(tok.text[1:-1].replace("''", "'")), False
        if tok.kind == "datetime":
            if parse_ticks(tok.text) is None:
                raise self.fail(f"invalid date-time {tok.text!r}", tok)
            return self.constant(tok.text), True
        if tok.kind == "number":
            num: float | int = float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
            return self.constant(num), False
        if tok.kind == "keyword" and tok.text in ("true", "false", "null"):
            return self.constant({"true": True, "false": False, "null": None}[tok.text]), False
        if tok.kind == "name" and tok.text.lower() in _VALUE_FUNCS and self.peek().text == "(":
            self.next()
            inner, hint = self.parse_operand()
            self.expect("punct", ")")
            fn = str.lower if tok.text.lower() == "tolower" else str.upper
            return (lambda item: fn(v) if isinstance(v := inner(item), str) else v), hint
        if tok.kind == "name":
            if tok.text.lower() in _BOOL_FUNCS:
                raise self.fail(f"function {tok.text!r} cannot be used as a value", tok)
            self.check_path(tok.text)
            return path_getter(self.resolver, tok.text), False
        raise self.fail(f"expected a property path or a literal, found {tok.text or 'end of input'!r}", tok)


def parse_filter(
    text: str,
    resolver: Resolver = default_resolver,
    check_path: Callable[[str], None] = lambda path: None,
) -> Predicate:
    """Compile a `$filter` expression into a predicate over items; raises a 400 ArmError."""
    return _Parser(text, resolver, check_path).parse()


# endregion

# region orderby and paging


@dataclass(frozen=True)
class OrderKey:
    path: str
    descending: bool


def parse_orderby(text: str | None, check_path: Callable[[str], None] = lambda path: None) -> list[OrderKey]:
    keys: list[OrderKey] = []
    if not text or not text.strip():
        return keys
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise bad_request(f"Invalid $orderby '{text}': each key must be 'path [asc|desc]'.")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_/]*", words[0]):
            raise bad_request(f"Invalid $orderby '{text}': each key must be 'path [asc|desc]'.")
        check_path(words[0])
        keys.append(OrderKey(words[0], direction == "desc"))
    return keys


def _key_function(keys: list[OrderKey], resolver: Resolver) -> Callable[[Any], list]:
    """item -> its sort position: the keys' values, then the name (the tie-break)."""
    getters = [path_getter(resolver, k.path) for k in keys] + [path_getter(resolver, "name")]
    return lambda item: [sort_key(get(item)) for get in getters]



def _cmp_keys(a: list, b: list, keys: list[OrderKey]) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            continue
        sign = -1 if i < len(keys) and keys[i].descending else 1
        return sign * (-1 if x < y else 1)
    return 0


def _token_digest(orderby: list[OrderKey], filter_text: str) -> str:
    raw = json.dumps([[k.path, k.descending] for k in orderby] + [filter_text])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_skip_token(position: list, digest: str) -> str:
    raw = json.dumps({"p": position, "d": digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skip_token(token: str, digest: str) -> list:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        position = data["p"]
        ok = isinstance(position, list) and data["d"] == digest
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise bad_request("The $skipToken is invalid or does not match this query's $filter and $orderby.")
    return position


@dataclass
class ListQuery:
    """The parsed OData options of one list call."""

    filter_text: str = ""
    predicate: Predicate | None = None
    orderby: list[OrderKey] | None = None
    top: int | None = None
    skip_token: str | None = None
    scope: str = ""  # more of what a $skipToken is bound to (e.g. a POST body's criteria); not in the nextLink


def parse_top(raw: str | None, maximum: int | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"\d+", raw.strip()):
        raise bad_request(f"Invalid $top '{raw}': it must be a non-negative integer.")
    top = int(raw)
    if maximum is not None and top > maximum:
        raise bad_request(f"Invalid $top '{raw}': the maximum allowed value is {maximum}.")
    return top


def paginate(
    items: Iterable[Any],
    query: ListQuery,
    next_link_base: str,
    extra_params: dict[str, str],
    default_order: list[OrderKey],
    resolver: Resolver = default_resolver,
    page_size: int = 50,
    *,
    presorted: list[OrderKey] | None = None,
    render: Callable[[Any], dict] | None = None,
) -> dict:
    """Filter, sort and cut one page; the nextLink carries the last item's sort position.

    `presorted`: the order `items` (a sequence) already has, by a unique first key. When the query asks
    for that order (or its reverse), no sort happens and the scan stops once the page is full, so a
    page costs what it returns rather than what the collection holds. `render` turns the page's items
    into their JSON (the filter and sort see the items as they are, through `resolver`)."""
    orderby = query.orderby or default_order
    digest = _token_digest(orderby, query.filter_text + query.scope)
    position = decode_skip_token(query.skip_token, digest) if query.skip_token else None
    size = min(query.top if query.top is not None else page_size, 1000)
    if presorted is not None and _same_paths(orderby, presorted):
        ordered = reversed(items) if orderby[0].descending != presorted[0].descending else items  # type: ignore
        page, more = _scan(ordered, query, orderby, resolver, position, size)
    else:
        page, more = _select_and_sort(items, query, orderby, resolver, position, size)
    body: dict[str, Any] = {"value": [render(it) if render else it for _, it in page]}
    if size > 0 and more:
        params = dict(extra_params)
        if query.filter_text:
            params["$filter"] = query.filter_text
        if query.orderby:
            params["$orderby"] = ", ".join(f"{k.path} {'desc' if k.descending else 'asc'}" for k in query.orderby)
        if query.top is not None:
            params["$top"] = str(query.top)
        params["$skipToken"] = encode_skip_token(page[-1][0], digest)
        body["nextLink"] = f"{next_link_base}?{urlencode(params, quote_via=quote, safe='/:$')}"
    return body


def _same_paths(orderby: list[OrderKey], presorted: list[OrderKey]) -> bool:
    return len(orderby) == 1 and orderby[0].path == presorted[0].path


def _scan(ordered: Iterable[Any], query: ListQuery, orderby: list[OrderKey], resolver: Resolver,
          position: list | None, size: int) -> tuple[list[tuple[list, Any]], bool]:
    """Walk items already in the requested order: skip to the position, keep matches until one past the page."""
    page: list[tuple[list, Any]] = []
    key_of = _key_function(orderby, resolver)
    for item in ordered:
        key = key_of(item)
        if position is not None and _cmp_keys(key, position, orderby) <= 0:
            continue
        if query.predicate is not None and not query.predicate(item):
            continue
        if len(page) == size:
            return page, True
        page.append((key, item))
    return page, False


def _select_and_sort(items: Iterable[Any], query: ListQuery, orderby: list[OrderKey], resolver: Resolver,
                     position: list | None, size: int) -> tuple[list[tuple[list, Any]], bool]:
    selected = [it for it in items if query.predicate is None or query.predicate(it)]
    key_of = _key_function(orderby, resolver)
    keyed = [(key_of(it), it) for it in selected]
    # stable sorts, least significant first: the name tie-break (always ascending), then each key
    for index in range(len(orderby), -1, -1):
        keyed.sort(key=lambda pair: pair[0][index], reverse=index < len(orderby) and orderby[index].descending)
    if position is not None:
        keyed = [(k, it) for k, it in keyed if _cmp_keys(k, position, orderby) > 0]
    return keyed[:size], len(keyed) > size


# endregion

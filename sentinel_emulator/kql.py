"""A small KQL subset: a tokenizer, a recursive-descent parser that builds a pipeline of operators,
and an evaluator over in-memory tables. No eval, no regex soup.

Grammar (what the emulator's Log Analytics API accepts)::

    query     := table ( "|" operator )*
    operator  := "where" condition
               | "project" column ( "," column )*
               | ( "take" | "limit" ) integer
               | "summarize" "count" "(" ")" [ "by" column ( "," column )* ]
               | ( "sort" | "order" ) "by" column [ "asc" | "desc" ] ( "," column [ "asc" | "desc" ] )*
               | "count"
    condition := conjunct ( "or" conjunct )*
    conjunct  := term ( "and" term )*
    term      := "(" condition ")" | operand compare operand
    compare   := "==" | "!=" | ">" | "<" | ">=" | "<=" | "=~" | "!~" | "contains" | "has"
    operand   := column | 'string' | "string" | number | true | false
               | "ago" "(" timespan ")" | "now" "(" ")" | "datetime" "(" date-time ")"
    timespan  := number ( "d" | "h" | "m" | "s" | "ms" )        e.g. 1d, 12h, 30m, 1.5h

As in KQL, `sort by` is descending unless `asc` is given, string `==` is case-sensitive (`=~` is
not), `contains`/`has` are case-insensitive, and a comparison between values of different types
is a semantic error. Datetimes are epoch seconds inside and ISO 8601 (`...Z`) on output; dynamic
values are JSON text on output, as the Log Analytics API returns them.

Errors are `KqlError` with the kind the service reports: `syntax` (with the token and its line and
position) for anything outside this grammar, `semantic` for unknown tables and columns and for
type mismatches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .clock import format_utc, parse_ticks

NUMERIC = ("int", "long", "real")
UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
COMPARISONS = ("==", "!=", ">=", "<=", ">", "<", "=~", "!~")
WORD_COMPARISONS = ("contains", "has")
OPERATORS = ("where", "project", "take", "limit", "summarize", "sort", "order", "count")

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<timespan>\d+(?:\.\d+)?(?:ms|d|h|m|s)(?![A-Za-z0-9_]))
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z_]))
  | (?P<op>==|!=|>=|<=|=~|!~|>|<|=)
  | (?P<datetime>datetime\s*\([^)\n]*\))
  | (?P<punct>[|,()])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


# region errors and tokens


class KqlError(Exception):
    """A query the service would refuse. kind: syntax | semantic."""

    def __init__(self, kind: str, message: str, token: str = "", line: int = 1, pos: int = 0) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.token = token
        self.line = line
        self.pos = pos


@dataclass(frozen=True)
class Token:
    kind: str  # string | timespan | number | op | datetime | punct | name | end
    text: str
    offset: int


def _where(text: str, offset: int) -> tuple[int, int]:
    """1-based line and 0-based position in that line of a character offset."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start


def syntax_error(text: str, token_text: str, offset: int) -> KqlError:
    line, pos = _where(text, offset)
    return KqlError("syntax", f"Query could not be parsed at '{token_text}' on line [{line},{pos}]",
                    token_text, line, pos)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    offset = 0
    while offset < len(text):
        match = _TOKEN.match(text, offset)
        if match is None:
            raise syntax_error(text, text[offset], offset)
        if match.lastgroup != "ws":
            tokens.append(Token(match.lastgroup or "", match.group(), offset))
        offset = match.end()
    tokens.append(Token("end", "<EOF>", len(text)))
    return tokens


# endregion

# region tables


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string | datetime | int | long | real | bool | dynamic | guid


@dataclass
class Table:
    """Columns and rows (dicts by column name, Python values: datetimes as epoch seconds)."""

    name: str
    columns: list[Column]
    rows: list[dict[str, Any]]

    def column(self, name: str, operator: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KqlError("semantic", f"'{operator}' operator: Failed to resolve scalar expression named '{name}'")

    def answer(self) -> dict:
        """The table as the Log Analytics API shows it: {name, columns: [{name, type}], rows: [[...]]}."""
        return {"name": self.name, "columns": [{"name": c.name, "type": c.type} for c in self.columns],
                "rows": [[_output(row.get(c.name), c.type) for c in self.columns] for row in self.rows]}


def _output(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return format_utc(value)
    if kind == "dynamic":
        return json.dumps(value, separators=(",", ":"))
    return value


def to_epoch(text: str | None) -> float | None:
    """An ISO 8601 timestamp as epoch seconds (None if it is not one)."""
    ticks = parse_ticks(text) if text else None
    return ticks / 10_000_000 if ticks is not None else None


# endregion

# region expressions

Value = Callable[[dict], Any]


@dataclass(frozen=True)
class Operand:
    """A column or a constant, with its KQL type."""

    evaluate: Value
    type: str
    column: str | None = None


def _type_group(kind: str) -> str:
    return "number" if kind in NUMERIC else kind


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return op in ("!=", "!~") and not (left is None and right is None)
    if op in ("=~", "!~", "contains", "has"):
        a, b = str(left).lower(), str(right).lower()
        if op == "=~":
            return a == b
        if op == "!~":
            return a != b
        if op == "contains":
            return b in a
        return b in re.split(r"[^0-9a-z]+", a) if re.fullmatch(r"[0-9a-z]+", b) else b in a
    return {"==": left == right, "!=": left != right, ">": left > right, "<": left < right,
            ">=": left >= right, "<=": left <= right}[op]


def comparison(op: str, left: Operand, right: Operand) -> Callable[[dict], bool]:
    """A row predicate; a semantic error when the two sides cannot be compared in KQL."""
    lt, rt = _type_group(left.type), _type_group(right.type)
    textual = op in ("=~", "!~", "contains", "has")
    if "dynamic" in (lt, rt) or (textual and "string" not in (lt, rt) and lt != "guid") or (
            not textual and lt != rt and {lt, rt} != {"string", "guid"}):
        raise KqlError("semantic", f"'where' operator: Cannot compare values of types {left.type} and "
                                   f"{right.type}. Try adding explicit casts")
    get_left, get_right = left.evaluate, right.evaluate
    return lambda row: _compare(op, get_left(row), get_right(row))


# endregion

# region operators


@dataclass
class Where:
    predicate: Callable[[dict], bool]

    def apply(self, table: Table) -> Table:
        return Table(table.name, table.columns, [r for r in table.rows if self.predicate(r)])


@dataclass
class Project:
    names: list[str]

    def apply(self, table: Table) -> Table:
        columns = [table.column(name, "project") for name in self.names]
        keep = [c.name for c in columns]
        return Table(table.name, columns, [{k: r.get(k) for k in keep} for r in table.rows])


@dataclass
class Take:
    count: int

    def apply(self, table: Table) -> Table:
        return Table(table.name, table.columns, table.rows[: self.count])


@dataclass
class Summarize:
    by: list[str]

    def apply(self, table: Table) -> Table:
        columns = [table.column(name, "summarize") for name in self.by]
        groups: dict[tuple, int] = {}
        for row in table.rows:
            key = tuple(json.dumps(row.get(c.name), sort_keys=True) if c.type == "dynamic" else row.get(c.name)
                        for c in columns)
            groups[key] = groups.get(key, 0) + 1
        rows = []
        for key, count in groups.items():
            row = {c.name: (json.loads(v) if c.type == "dynamic" and v is not None else v)
                   for c, v in zip(columns, key)}
            row["count_"] = count
            rows.append(row)
        return Table(table.name, columns + [Column("count_", "long")], rows)


@dataclass
class Count:
    def apply(self, table: Table) -> Table:
        return Table(table.name, [Column("Count", "long")], [{"Count": len(table.rows)}])


@dataclass
class Sort:
    keys: list[tuple[str, bool]]  # (column, descending)

    def apply(self, table: Table) -> Table:
        rows = list(table.rows)
        for name, descending in reversed(self.keys):  # stable sorts, last key first
            column = table.column(name, "sort")
            present = [r for r in rows if r.get(column.name) is not None]
            missing = [r for r in rows if r.get(column.name) is None]
            present.sort(key=lambda r: _sort_value(r[column.name], column.type), reverse=descending)
            rows = present + missing if descending else missing + present  # nulls last (desc) / first (asc)
        return Table(table.name, table.columns, rows)


def _sort_value(value: Any, kind: str) -> Any:
    return json.dumps(value, sort_keys=True) if kind == "dynamic" else value


Operator = Where | Project | Take | Summarize | Count | Sort


# endregion

# region parser


@dataclass
class Query:
    table: str
    table_offset: int
    operators: list[Operator] = field(default_factory=list)


class _Parser:
    """One pass over the tokens. Column references are checked against the table as the pipeline
    changes it (after `project` or `summarize` only their columns exist)."""

    def __init__(self, text: str, tables: dict[str, Table], now: float) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.tables = tables
        self.now = now
        self.columns: dict[str, Column] = {}

    # helpers

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def fail(self, token: Token | None = None) -> KqlError:
        token = token or self.peek()
        return syntax_error(self.text, token.text, token.offset)

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.next()
        if token.kind != kind or (text is not None and token.text != text):
            raise self.fail(token)
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        token = self.peek()
        return token.kind == kind and (text is None or token.text == text)

    # grammar

    def parse(self) -> Query:
        first = self.next()
        if first.kind != "name":
            raise self.fail(first)
        if first.text not in self.tables:
            raise KqlError("semantic", f"Failed to resolve table or column expression named '{first.text}'")
        query = Query(first.text, first.offset)
        self.columns = {c.name: c for c in self.tables[first.text].columns}
        while self.at("punct", "|"):
            self.next()
            query.operators.append(self.operator())
        if not self.at("end"):
            raise self.fail()
        return query

    def operator(self) -> Operator:
        token = self.next()
        if token.kind != "name" or token.text not in OPERATORS:
            raise self.fail(token)
        name = token.text
        if name == "where":
            return Where(self.condition())
        if name == "project":
            names = [self.column_name("project")]
            while self.at("punct", ","):
                self.next()
                names.append(self.column_name("project"))
            self.columns = {n: self.columns[n] for n in names}
            return Project(names)
        if name in ("take", "limit"):
            number = self.expect("number")
            if not number.text.isdigit():
                raise self.fail(number)
            return Take(int(number.text))
        if name == "summarize":
            return self.summarize()
        if name == "count":
            self.columns = {"Count": Column("Count", "long")}
            return Count()
        self.expect("name", "by")
        keys = [self.sort_key()]
        while self.at("punct", ","):
            self.next()
            keys.append(self.sort_key())
        return Sort(keys)

    def summarize(self) -> Summarize:
        self.expect("name", "count")
        self.expect("punct", "(")
        self.expect("punct", ")")
        by: list[str] = []
        if self.at("name", "by"):
            self.next()
            by.append(self.column_name("summarize"))
            while self.at("punct", ","):
                self.next()
                by.append(self.column_name("summarize"))
        self.columns = {**{n: self.columns[n] for n in by}, "count_": Column("count_", "long")}
        return Summarize(by)

    def sort_key(self) -> tuple[str, bool]:
        name = self.column_name("sort")
        descending = True
        if self.at("name", "asc") or self.at("name", "desc"):
            descending = self.next().text == "desc"
        return name, descending

    def column_name(self, operator: str) -> str:
        token = self.expect("name")
        if token.text not in self.columns:
            raise KqlError("semantic", f"'{operator}' operator: Failed to resolve scalar expression named "
                                       f"'{token.text}'")
        return token.text

    # conditions

    def condition(self) -> Callable[[dict], bool]:
        parts = [self.conjunct()]
        while self.at("name", "or"):
            self.next()
            parts.append(self.conjunct())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def conjunct(self) -> Callable[[dict], bool]:
        parts = [self.term()]
        while self.at("name", "and"):
            self.next()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def term(self) -> Callable[[dict], bool]:
        if self.at("punct", "("):
            self.next()
            inner = self.condition()
            self.expect("punct", ")")
            return inner
        left = self.operand()
        op = self.next()
        if not ((op.kind == "op" and op.text in COMPARISONS) or (op.kind == "name" and op.text in WORD_COMPARISONS)):
            raise self.fail(op)
        right = self.operand()
        return comparison(op.text, left, right)

    def operand(self) -> Operand:
        token = self.next()
        if token.kind == "string":
            value = _unquote(token.text)
            return Operand(lambda row: value, "string")
        if token.kind == "number":
            number: int | float = float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
            kind = "real" if isinstance(number, float) else "long"
            return Operand(lambda row: number, kind)
        if token.kind == "name" and token.text in ("true", "false"):
            flag = token.text == "true"
            return Operand(lambda row: flag, "bool")
        if token.kind == "datetime":
            literal = token.text[token.text.index("(") + 1:-1].strip()
            when = to_epoch(literal)
            if when is None:
                raise syntax_error(self.text, token.text, token.offset)
            return Operand(lambda row: when, "datetime")
        if token.kind == "name" and self.at("punct", "(") and token.text in ("ago", "now"):
            return self.function(token)
        if token.kind == "name":
            if token.text not in self.columns:
                raise KqlError("semantic", f"'where' operator: Failed to resolve column or scalar expression named "
                                           f"'{token.text}'")
            column = self.columns[token.text]
            name = column.name
            return Operand(lambda row: row.get(name), column.type, name)
        raise self.fail(token)

    def function(self, name: Token) -> Operand:
        self.expect("punct", "(")
        if name.text == "now":
            self.expect("punct", ")")
            now = self.now
            return Operand(lambda row: now, "datetime")
        span = self.expect("timespan")
        self.expect("punct", ")")
        at = self.now - timespan_seconds(span.text)
        return Operand(lambda row: at, "datetime")


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def timespan_seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)", text)
    if match is None:
        raise ValueError(f"not a KQL timespan: {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


# endregion


def run(text: str, tables: dict[str, Table], now: float) -> Table:
    """Parse and evaluate a query over `tables`; the result is named PrimaryResult."""
    query = _Parser(text, tables, now).parse()
    table = tables[query.table]
    for operator in query.operators:
        table = operator.apply(table)
    return Table("PrimaryResult", table.columns, table.rows)


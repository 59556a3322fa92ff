"""Mutation operators that cosmic-ray does not ship, in cosmic-ray's operator API (parso trees).

    pinned/ReturnNone            return <expr>          -> return None
    pinned/RemoveIfBodyStatement a simple statement in an if/elif/else body -> pass
    pinned/SwapMinMax            min(...) <-> max(...)
    pinned/SwapInNotIn           a in b <-> a not in b  (cosmic-ray's comparison operators leave these out)
    pinned/DropReturnedDictKey   return {"a": 1, "b": 2} -> return {"b": 2} (one key per mutant)

`register()` adds them to cosmic-ray's operator registry under the provider name "pinned", so
cosmic-ray's own machinery (`mutating.use_mutation`, the session database, `cr-report`) handles them
like its core operators. tools/mutation.py calls it; nothing is installed as an entry point.
"""

from __future__ import annotations

import cosmic_ray.plugins
from cosmic_ray.operators.operator import Example, Operator
from parso.python.tree import Keyword, Name, Newline, PythonNode

PROVIDER = "pinned"


def _first_leaf_prefix(node) -> str:
    return node.get_first_leaf().prefix


class ReturnNone(Operator):
    """`return <expr>` becomes `return None` (a bare `return` or `return None` is left alone)."""

    def mutation_positions(self, node):
        if node.type == "return_stmt" and len(node.children) == 2:
            value = node.children[1]
            if not (isinstance(value, Keyword) and value.value == "None"):
                yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        value = node.children[1]
        node.children[1] = Keyword("None", value.start_pos, prefix=_first_leaf_prefix(value))
        return node

    @classmethod
    def examples(cls):
        return (Example("def f():\n    return 1\n", "def f():\n    return None\n"),)


def _in_if_body(node) -> bool:
    parent = node.parent
    if parent is not None and parent.type == "suite":
        parent = parent.parent
    return parent is not None and parent.type == "if_stmt"


def _is_docstring_or_pass(node) -> bool:
    first = node.children[0]
    return first.type == "string" or (isinstance(first, Keyword) and first.value == "pass")


class RemoveIfBodyStatement(Operator):
    """One simple statement in the body of an `if`, `elif` or `else` becomes `pass`."""

    def mutation_positions(self, node):
        if node.type == "simple_stmt" and _in_if_body(node) and not _is_docstring_or_pass(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        last = node.children[-1]
        newline = last if isinstance(last, Newline) else Newline("\n", last.end_pos)
        return PythonNode("simple_stmt", [Keyword("pass", node.start_pos, prefix=_first_leaf_prefix(node)), newline])

    @classmethod
    def examples(cls):
        return (Example("if x:\n    y = 1\n", "if x:\n    pass\n"),)


_MIN_MAX = {"min": "max", "max": "min"}


class SwapMinMax(Operator):
    """A call of the builtin `min` becomes `max`, and the other way round."""

    def mutation_positions(self, node):
        if isinstance(node, Name) and node.value in _MIN_MAX and _is_called(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node, index):
        node.value = _MIN_MAX[node.value]
        return node

    @classmethod
    def examples(cls):
        return (Example("x = min(a, b)\n", "x = max(a, b)\n"),)


def _is_called(name: Name) -> bool:
    parent = name.parent
    if parent is None or parent.type not in {"power", "atom_expr"} or parent.children[0] is not name:
        return False
    trailer = parent.children[1]
    return trailer.type == "trailer" and trailer.children[0].value == "("


def _membership_index(node):
    """The position of the `in` / `not in` operator among a two-operand comparison's children, or None."""
    if node.type != "comparison" or len(node.children) != 3:
        return None
    op = node.children[1]
    is_in = isinstance(op, Keyword) and op.value == "in"
    is_not_in = op.type == "comp_op" and [c.value for c in op.children] == ["not", "in"]
    return 1 if is_in or is_not_in else None


class SwapInNotIn(Operator):
    """`a in b` becomes `a not in b`, and the other way round."""

    def mutation_positions(self, node):
        if _membership_index(node) is not None:
            op = node.children[1]
            yield (op.start_pos, op.end_pos)

    def mutate(self, node, index):
        op = node.children[1]
        prefix = _first_leaf_prefix(op)
        if isinstance(op, Keyword):
            node.children[1] = PythonNode("comp_op", [Keyword("not", op.start_pos, prefix=prefix),
                                                      Keyword("in", op.end_pos, prefix=" ")])
        else:
            node.children[1] = Keyword("in", op.start_pos, prefix=prefix)
        return node

    @classmethod
    def examples(cls):
        return (Example("x = a in b\n", "x = a not in b\n"), Example("x = a not in b\n", "x = a in b\n"))


def _dict_entries(maker) -> list[list]:
    """The children of a dictorsetmaker split into entries (each without its separating comma)."""
    entries: list[list] = [[]]
    for child in maker.children:
        if child.type == "operator" and child.value == ",":
            entries.append([])
        else:
            entries[-1].append(child)
    return [entry for entry in entries if entry]


def _returned_dict(node):
    """The dict display a `return` statement returns (an atom `{...}` with key: value entries), or None."""
    if node.type != "return_stmt" or len(node.children) != 2:
        return None
    atom = node.children[1]
    if atom.type != "atom" or atom.children[0].value != "{" or len(atom.children) != 3:
        return None
    body = atom.children[1]
    if body.type != "dictorsetmaker" or any(child.type in {"comp_for", "sync_comp_for"} for child in body.children):
        return None
    return atom if all(_is_dict_entry(entry) for entry in _dict_entries(body)) else None


def _is_dict_entry(entry: list) -> bool:
    """`key: value` or `**mapping` (a set display's entries are neither)."""
    values = [getattr(child, "value", None) for child in entry]
    return (len(entry) == 3 and values[1] == ":") or (len(entry) == 2 and values[0] == "**")


def _entries_of(atom) -> list[list]:
    return _dict_entries(atom.children[1])


class DropReturnedDictKey(Operator):
    """One entry of a dict display that a `return` statement returns is dropped."""

    def mutation_positions(self, node):
        atom = _returned_dict(node)
        if atom is not None:
            for entry in _entries_of(atom):
                yield (entry[0].start_pos, entry[-1].end_pos)

    def mutate(self, node, index):
        atom = _returned_dict(node)
        maker = atom.children[1]
        entries = _entries_of(atom)
        kept = [entry for i, entry in enumerate(entries) if i != index]
        if not kept:
            atom.children = [atom.children[0], atom.children[2]]
            return node
        if index == 0:
            kept[0][0].get_first_leaf().prefix = entries[0][0].get_first_leaf().prefix
        children: list = []
        commas = [c for c in maker.children if c.type == "operator" and c.value == ","]
        for i, entry in enumerate(kept):
            if i:
                children.append(commas[min(i - 1, len(commas) - 1)])
            children.extend(entry)
        maker.children = children
        return node

    @classmethod
    def examples(cls):
        return (Example("def f():\n    return {'a': 1, 'b': 2}\n", "def f():\n    return {'b': 2}\n"),)


OPERATORS = {cls.__name__: cls for cls in (ReturnNone, RemoveIfBodyStatement, SwapMinMax, SwapInNotIn,
                                                DropReturnedDictKey)}


class Provider:
    """A cosmic-ray operator provider (iterable of names, indexable by name)."""

    def __iter__(self):
        return iter(OPERATORS)

    def __getitem__(self, name):
        return OPERATORS[name]


def register() -> None:
    """Make "pinned/<Name>" known to cosmic_ray.plugins.get_operator."""
    cosmic_ray.plugins.OPERATOR_PROVIDERS.setdefault(PROVIDER, Provider())

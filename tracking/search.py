"""The search filter language (MLflow's subset): parsed here, turned into SQL by `sql_search`.

    metrics.loss < 0.5 AND params.optimizer = 'adam' AND tags."my tag" LIKE 'x%'
    attributes.status = 'FINISHED' AND attributes.run_id IN ('a1', 'b2')
    params.lr IS NULL AND tags.team IS NOT NULL AND attributes.created > 1700000000000
    datasets.name = 'iris' AND datasets.context IN ('train', 'eval') AND datasets.digest != 'x'

Clauses are joined by AND. Identifiers are `<kind>.<key>` with kind metrics/params/tags/attributes
and, for runs, datasets (`name`, `digest`, `context`) (singular forms too); a key with spaces or
symbols is quoted with backticks or double quotes.
`RUNS` and `EXPERIMENTS` are the two grammars (which attributes exist, which kinds take IS NULL),
copied from MLflow's `SearchUtils` and `SearchExperimentsUtils`. Errors name the offending token
and its position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from shipyard.exceptions import InvalidInput
from shipyard.tracking import validation

Kind = Literal["metric", "param", "tag", "attribute", "dataset"]
Value = float | str | tuple[str, ...] | None

_KINDS: dict[str, Kind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}
NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
NULL_OPS = ("IS NULL", "IS NOT NULL")
DATASET_KEYS = ("name", "digest", "context")
"""What `datasets.<key>` filters on (MLflow's `SearchUtils.VALID_DATASET_ATTRIBUTES`)."""
DATASET_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
"""MLflow's `SearchUtils.VALID_DATASET_COMPARATORS`."""

RUN_STRING_ATTRIBUTES = ("run_id", "run_name", "status", "artifact_uri", "user_id", "lifecycle_stage")
RUN_NUMERIC_ATTRIBUTES = ("start_time", "end_time")


@dataclass(frozen=True)
class Grammar:
    """What one kind of search accepts: its attributes, their aliases, the kinds it filters on,
    the kinds that take IS NULL / IS NOT NULL, and the attributes that take IN lists."""

    what: str
    string_attributes: tuple[str, ...]
    numeric_attributes: tuple[str, ...]
    aliases: tuple[tuple[str, str], ...]
    kinds: tuple[Kind, ...]
    null_kinds: tuple[Kind, ...]
    list_attributes: tuple[str, ...]

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.string_attributes + self.numeric_attributes


RUNS = Grammar(
    what="runs",
    string_attributes=RUN_STRING_ATTRIBUTES,
    numeric_attributes=RUN_NUMERIC_ATTRIBUTES,
    # NOTE: "created" and "run name" are MLflow's aliases (`SearchUtils.translate_key_alias`).
    aliases=(("run_uuid", "run_id"), ("runname", "run_name"), ("name", "run_name"), ("run name", "run_name"))
    + (("created", "start_time"),),
    kinds=("metric", "param", "tag", "attribute", "dataset"),
    null_kinds=("param", "tag"),
    list_attributes=("run_id",),
)
EXPERIMENTS = Grammar(
    what="experiments",
    string_attributes=("name", "experiment_id"),
    numeric_attributes=("creation_time", "last_update_time"),
    aliases=(),
    kinds=("tag", "attribute"),
    null_kinds=("tag",),
    list_attributes=("experiment_id",),
)

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ident>[A-Za-z_]+\.(?:`[^`]+`|"[^"]+"|[\w./:\-]+))
  | (?P<word>[A-Za-z_]\w*)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Comparison:
    kind: Kind
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class OrderBy:
    kind: Kind
    key: str
    ascending: bool


@dataclass(frozen=True)
class _Token:
    type: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise InvalidInput(f"filter_string: unexpected {text[pos : pos + 20]!r} at position {pos}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
        return re.sub(r"\\(.)", r"\1", text[1:-1]) if text[0] != "`" else text[1:-1]
    return text


def parse_identifier(text: str, *, where: str = "filter_string", grammar: Grammar = RUNS) -> tuple[Kind, str]:
    """`metrics.loss` -> ("metric", "loss"); a bare name means an attribute."""
    prefix, dot, key = text.partition(".")
    if not dot:
        return "attribute", _attribute_name(text, where, grammar)
    kind = _KINDS.get(prefix.lower())
    if kind is None or kind not in grammar.kinds:
        raise InvalidInput(
            f"{where}: identifier {text!r} has unknown prefix {prefix!r}; {grammar.what} accept "
            + ", ".join(f"{k}s." for k in grammar.kinds)
        )
    key = _unquote(key)
    if not key:
        raise InvalidInput(f"{where}: identifier {text!r} has an empty key")
    if kind != "dataset" and not validation.KEY_PATTERN.fullmatch(key):
        raise InvalidInput(
            f"{where}: identifier {text[:100]!r} is not valid: a key holds letters, digits, underscores, "
            "dashes, periods, spaces, colons and slashes"
        )
    if kind == "dataset" and key not in DATASET_KEYS:
        raise InvalidInput(
            f"{where}: unknown dataset field {key!r} in {text!r}; expected one of {', '.join(DATASET_KEYS)}"
        )
    return kind, (_attribute_name(key, where, grammar) if kind == "attribute" else key)


def _attribute_name(name: str, where: str, grammar: Grammar) -> str:
    name = dict(grammar.aliases).get(name.lower(), name.lower())
    if name not in grammar.attributes:
        raise InvalidInput(
            f"{where}: unknown attribute {name!r} for {grammar.what}; expected one of {', '.join(grammar.attributes)}"
        )
    return name


def _is_numeric(kind: Kind, key: str, grammar: Grammar) -> bool:
    return kind == "metric" or (kind == "attribute" and key in grammar.numeric_attributes)


def parse_filter(filter_string: str | None, grammar: Grammar = RUNS) -> list[Comparison]:
    """Parse a filter into comparisons that are all true for a matching run (or experiment)."""
    if not filter_string or not filter_string.strip():
        return []
    tokens = _tokenize(filter_string)
    comparisons: list[Comparison] = []
    index = 0

    def take(expected: str) -> _Token:
        nonlocal index
        if index >= len(tokens):
            raise InvalidInput(f"filter_string: expected {expected} at the end of {filter_string!r}")
        token = tokens[index]
        index += 1
        return token

    def bad(token: _Token, expected: str) -> InvalidInput:
        return InvalidInput(
            f"filter_string: unexpected token {token.text!r} at position {token.pos}; expected {expected}"
        )

    while True:
        token = take("an identifier such as metrics.loss")
        if token.type not in ("ident", "word") or token.text.upper() in ("AND", "LIKE", "ILIKE", "IN"):
            raise bad(token, "an identifier such as metrics.loss")
        kind, key = parse_identifier(token.text, grammar=grammar)
        numeric = _is_numeric(kind, key, grammar)
        op_token = take("a comparator")
        op = op_token.text.upper() if op_token.type == "word" else op_token.text
        op = "!=" if op == "<>" else op
        if op == "NOT":
            op = "NOT " + take("LIKE/ILIKE/IN").text.upper()
        elif op == "IS":
            following = take("NULL or NOT NULL").text.upper()
            op = "IS NOT NULL" if following == "NOT" and take("NULL").text.upper() == "NULL" else f"IS {following}"
        listed = kind == "attribute" and key in grammar.list_attributes
        allowed = (NUMERIC_OPS if numeric else STRING_OPS + (("IN", "NOT IN") if listed else ())) + (
            NULL_OPS if kind in grammar.null_kinds else ()
        )
        allowed = DATASET_OPS if kind == "dataset" else allowed
        if op not in allowed:
            raise bad(op_token, f"one of {', '.join(allowed)} for {token.text}")
        value: Value
        if op in NULL_OPS:
            value = None
        elif op in ("IN", "NOT IN"):
            if take("'('").text != "(":
                raise bad(tokens[index - 1], "'(' after IN")
            items: list[str] = []
            while True:
                item = take("a quoted string")
                if item.type != "string":
                    raise bad(item, "a quoted string in the IN list")
                items.append(_unquote(item.text))
                sep = take("',' or ')'")
                if sep.text == ")":
                    break
                if sep.text != ",":
                    raise bad(sep, "',' or ')'")
            value = tuple(items)
        else:
            value_token = take("a value")
            if numeric:
                if value_token.type != "number":
                    raise bad(value_token, f"a number to compare {token.text} with")
                value = float(value_token.text)
            else:
                if value_token.type != "string":
                    raise bad(value_token, f"a quoted string to compare {token.text} with")
                value = _unquote(value_token.text)
        comparisons.append(Comparison(kind, key, op, value))
        if index == len(tokens):
            return comparisons
        joiner = take("AND")
        if joiner.text.upper() != "AND":
            raise bad(joiner, "AND (OR is not supported)")


def parse_order_by(order_by: Sequence[str] | None, grammar: Grammar = RUNS) -> list[OrderBy]:
    """`["metrics.loss ASC", "attributes.start_time DESC"]` -> order clauses (ascending default)."""
    clauses = []
    for entry in order_by or []:
        text = entry.strip()
        ascending = True
        upper = text.upper()
        for suffix, direction in ((" DESC", False), (" ASC", True)):
            if upper.endswith(suffix):
                text, ascending = text[: -len(suffix)].strip(), direction
                break
        if not text:
            raise InvalidInput(f"order_by: {entry!r} names no column")
        kind, key = parse_identifier(text, where="order_by", grammar=grammar)
        if kind == "dataset":
            raise InvalidInput(f"order_by: {entry!r}: runs cannot be ordered by their datasets (nor can MLflow's)")
        clauses.append(OrderBy(kind, key, ascending))
    return clauses


__all__ = [
    "Comparison",
    "DATASET_KEYS",
    "DATASET_OPS",
    "EXPERIMENTS",
    "Grammar",
    "NULL_OPS",
    "OrderBy",
    "RUNS",
    "RUN_NUMERIC_ATTRIBUTES",
    "RUN_STRING_ATTRIBUTES",
    "parse_filter",
    "parse_identifier",
    "parse_order_by",
]

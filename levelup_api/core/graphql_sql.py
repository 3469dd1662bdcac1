"""GraphQL compiled to SQL for the hot shapes. A document made only of fields whose SQL is declared
(each app declares its own, next to its graphene types: geographies/graphql_sql.py,
indicators/graphql_sql.py; levelup_api/schema.py composes them) becomes ONE statement in which
PostgreSQL writes the whole `data` object as JSON text, and the view sends those bytes: no field
is touched in Python. Anything else goes to graphql-core, and so does anything unusual on the way
(an argument the parameter layer refuses, a fragment, a directive, a row a resolver would refuse,
a failed statement), so every error comes from one place. Nothing here knows any app.

A declaration (docs/graphql.md has the whole story):

- `Scalar(sql, kind)`: an expression over the item's row (`{row}`, or a join of it by name, such
  as `{area_type}`) and the kind of JSON graphql-core writes for it (STRING, INT, FLOAT, BOOLEAN,
  DATE, or JSON for an expression that is JSON text already).
- `Enum(sql, values)`: a choice column. Each value's JSON is computed once from the schema's own
  field (its resolver, then its enum type), so the two cannot disagree. `Mapped` gives it by hand.
- `Inline(join)`: a non-null object on a join of the row (`Observation.period`), in the same FROM.
- `Rows(source, order)`: a list, or one object, from a correlated subquery. `bind` turns the
  field's arguments into parameters through the parameter layer; `check` is what the resolver
  would refuse (the statement then stops and graphql-core answers, with its error).
- `Connection(...)`: a Relay connection paged as graphene-django pages one (first, after, offset).

Caches: parsing and validation per document (levelup_api.core.graphql_limits), a plan per
document and operation, the SQL text per plan and shape (which variables are null, and the
variant each field's arguments choose), and each field's bound arguments (LRU). Bindings that read
rows (a vintage, a type) carry `guards`, re-checked inside the statement: if such a row changed
since, the statement hands over and the binding is made afresh next time."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import logging
import re
import string
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import models
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
)
from graphql.execution.values import get_argument_values, get_variable_values
from psycopg import sql
from psycopg.adapt import Loader

from .params import ParameterError, Params, params_parse
from .prepared import PreparedCursor, prepared_cursor

logger = logging.getLogger(__name__)

# The kinds of JSON graphql-core writes, and the GraphQL scalars each may serve (JSON: any).
STRING, INT, FLOAT, BOOLEAN, DATE, JSON = "String", "Int", "Float", "Boolean", "Date", "JSON"
_KIND_SCALARS = {STRING: {"String", "ID"}, INT: {"Int"}, FLOAT: {"Float"}, BOOLEAN: {"Boolean"}, DATE: {"Date"}}
# Names a template may use besides a type's joins and its field's parameters.
_RESERVED = {"row", "parent", "joins", "today", "alias"}
# The SQLSTATE of levelup_graphql_fallback() (migration core 0003): the statement stopped on
# purpose, because graphql-core must answer (with an error the compiled path does not write).
FALLBACK_SQLSTATE = "LG001"


class NotCompilable(Exception):
    """This document, or these arguments, are for graphql-core."""


# -- declarations (the apps write these) -------------------------------------------------------------
@dataclass(frozen=True)
class Guard:
    """A row a binding read: its table, and (column, value) pairs, the primary key first."""

    table: str
    values: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class Bound:
    """A field's arguments made SQL: `variant` picks its SQL (hashable: one variant, one text),
    `params` fill the placeholders the SQL names, `guards` are rows that must be as they were."""

    variant: Hashable = None
    params: Mapping[str, object] = field(default_factory=dict)
    guards: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class Scalar:
    sql: str
    kind: str
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Enum:
    """A column holding one of `values`, each printed as the schema's field prints it."""

    sql: str
    values: tuple
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Mapped:
    """A column holding one of `mapping`'s keys, printed as its value (a Python value, as JSON)."""

    sql: str
    mapping: Mapping[object, object]
    needs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Inline:
    """A non-null object field on a join of the row (`join`), or on the row itself (`join=None`).
    `context` is what the object's own fields may rely on (see Rows)."""

    join: str | None = None
    context: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()


Template = str | Callable[[Hashable], str]


@dataclass(frozen=True)
class Rows:
    """A list (or, `many=False`, one object) of rows from a correlated subquery.

    `source`: the FROM clause with its WHERE; `{row}` is the item's alias, `{joins}` where the
    item's joins go (right after the item's table), `{parent}` the parent row's alias, and
    `{name}` each parameter `bind` returns. `order` sorts the items (it may name the item type's
    joins). `check`, when false for a parent row, is an error of the resolver's: graphql-core
    answers. Either may be a callable of the binding's variant. `context` is given to the items'
    fields; a field that `needs` a context the planner does not have goes to graphql-core (how
    an app says "ordered only where the resolver eager-loads it")."""

    source: Template
    order: Template = ""
    many: bool = True
    bind: Callable[[dict, BindContext], Bound] | None = None
    check: Template | None = None
    context: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    cache_binding: bool = True  # False for a binding that reads nothing: no cache entry per value


@dataclass(frozen=True)
class ObjectSQL:
    """The SQL of some fields of one GraphQL object type. Several apps may declare fields of one
    type (indicators adds `observations` to geographies' `Area`), as the graphene mixins do.
    `joins` are JOIN clauses (`{alias}` the joined alias, `{row}` the row, other joins by name),
    put in the row's FROM only when a selected field names them."""

    type_name: str
    fields: Mapping[str, object]
    joins: Mapping[str, str] = field(default_factory=dict)


def global_id(type_name: str, pk: str = "{row}.id") -> Scalar:
    """A Relay global ID, graphql_relay's base64 of "Type:pk" (short: PostgreSQL's base64 breaks
    lines every 76 characters)."""
    prefix = sql.Literal(f"{type_name}:").as_string(None)
    return Scalar(f"'\"' || encode(convert_to({prefix} || ({pk})::text, 'UTF8'), 'base64') || '\"'", JSON)


@dataclass
class BindContext:
    """What a binder may use besides its arguments: the compiler's binding cache."""

    compiler: SQLCompiler
    keys: list = field(default_factory=list)

    def cached(self, key: Hashable, make: Callable[[], Bound]) -> Bound:
        self.keys.append(key)
        return self.compiler.cached_binding(key, make)


def params_bound(params_class: type[Params], arguments: dict, **kwargs) -> Params:
    """The arguments parsed by the same declaration as the resolver's (graphql_params): a problem
    is for graphql-core to report, with its message and path."""
    try:
        return params_parse(params_class, {k: v for k, v in arguments.items() if v is not None}, **kwargs)
    except ParameterError as exc:
        raise NotCompilable(str(exc)) from None


def model_guards(*values: object) -> tuple[Guard, ...]:
    """Guards for the model instances among `values`, and those cached on them (a vintage's type):
    the row must still have the same key, unique columns and foreign keys when the statement runs."""
    out: list[Guard] = []
    seen: set = set()
    stack = [v for v in values if isinstance(v, models.Model)]
    while stack:
        obj = stack.pop()
        meta = obj._meta
        if (meta.db_table, obj.pk) in seen:
            continue
        seen.add((meta.db_table, obj.pk))
        columns = [(meta.pk.column, obj.pk)]
        columns += [(f.column, getattr(obj, f.attname)) for f in meta.concrete_fields
                    if not f.primary_key and (f.unique or f.is_relation)]
        out.append(Guard(meta.db_table, tuple(columns)))
        stack.extend(v for v in obj._state.fields_cache.values() if isinstance(v, models.Model))
    return tuple(out)


_DJANGO_SQL = re.compile(r"%%|%s|[{}]")


def queryset_sql(queryset) -> tuple[str, dict]:
    """A QuerySet's own SQL as a template (`{q0}`, `{q1}`... for its parameters): a FilterSet's
    filters exactly as the resolver runs them, in a subquery of the statement."""
    try:
        text, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        raise NotCompilable("empty result set") from None
    counter = itertools.count()

    def swap(m: re.Match) -> str:
        token = m.group(0)
        if token == "%s":
            return f"{{q{next(counter)}}}"
        return {"{": "{{", "}": "}}"}.get(token, token)  # %% stays: psycopg reads it as %

    return _DJANGO_SQL.sub(swap, text), {f"q{n}": v for n, v in enumerate(params)}


# Text an app writes into each statement as it runs rather than when its text is compiled and cached:
# constants that change with the data, such as indicators' current releases (which the planner prunes
# partitions on only as constants; indicators.current). Each takes and returns the statement's text.
STATEMENT_FINISHERS: list[Callable[[str], str]] = []


# -- a small thread-safe LRU (gunicorn's gthread workers share a process) --------------------------
class LRU:
    def __init__(self, size: int) -> None:
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, default=None):
        with self.lock:
            if key not in self.data:
                return default
            self.data.move_to_end(key)
            return self.data[key]

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def pop(self, key) -> None:
        with self.lock:
            self.data.pop(key, None)

    def __len__(self) -> int:
        return len(self.data)


# -- the plan ---------------------------------------------------------------------------------------
@dataclass
class _Node:
    """One field of the document, as the statement answers it."""

    key: str  # the response key (alias or name)
    decl: object  # Scalar, Enum, Mapped, Inline, Rows, Connection; None for __typename
    parent_type: str
    ast: FieldNode | None = None
    field_def: object = None
    type_name: str | None = None  # the named type of an object field
    nullable: bool = True
    index: int = 0
    children: list[_Node] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # what a Connection planned


@dataclass
class Plan:
    nodes: list[_Node]
    bound: list[_Node]  # the nodes whose declarations bind arguments
    sql: LRU = field(default_factory=lambda: LRU(64))


@dataclass(frozen=True)
class Statement:
    """A compiled request: the SQL (shared by every request of its shape) and its parameters."""

    sql: str
    params: dict
    bindings: tuple  # the binding cache keys used, dropped if the statement hands over


# -- SQL building ------------------------------------------------------------------------------------
def _literal(value) -> sql.SQL:
    """A constant. psycopg reads every % of a parameterised query as a placeholder, even inside a
    quoted string, so they are doubled."""
    return sql.SQL(sql.Literal(value).as_string(None).replace("%", "%%"))


def _concat(parts: list) -> sql.Composable:
    """`piece || piece || ...` with adjacent constant pieces merged into one literal, so keys,
    punctuation and __typename cost nothing per row."""
    merged: list[sql.Composable] = []
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
            continue
        if text:
            merged.append(_literal(text))
            text = ""
        merged.append(part)
    if text:
        merged.append(_literal(text))
    return sql.SQL("(") + sql.SQL(" || ").join(merged) + sql.SQL(")")


def _key(n: int, key: str) -> str:
    return ("," if n else "{") + json.dumps(key) + ":"


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fallback(reason: str) -> sql.Composable:
    """Stops the statement (levelup_graphql_fallback raises): graphql-core answers instead. Only
    evaluated where it is reached, so it costs nothing on the way a normal row goes."""
    return sql.SQL("levelup_graphql_fallback({}, NULL::text)").format(_literal(reason))


def scalar_json(kind: str, expr: sql.Composable, nullable: bool) -> sql.Composable:
    """The JSON text graphql-core writes for a value of this kind. NULL in a non-null field stays
    NULL: its object becomes NULL and the statement hands over (graphql-core's error)."""
    if kind == FLOAT:
        # json.dumps(float) is repr: '.0' on whole numbers below 1e16, '-0.0'; otherwise the same
        # shortest round-trip digits as PostgreSQL's float8 text (exponent from 1e16 in Python,
        # 1e15 in PostgreSQL: the same number either way). NaN and the infinities are
        # graphql-core's error ("Float cannot represent non numeric value").
        return sql.SQL(
            "CASE {null}WHEN {e} = 0 THEN CASE WHEN ({e})::text LIKE '-%%' THEN '-0.0' ELSE '0.0' END "
            "WHEN {e} = trunc({e}) AND abs({e}) < 1e16::float8 THEN ({e})::int8::text || '.0' "
            "WHEN {e} IN ('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8) THEN {stop} "
            "ELSE ({e})::text END").format(
            e=expr, stop=fallback("not a finite float"),
            null=sql.SQL("WHEN {} IS NULL THEN 'null' ").format(expr) if nullable else sql.SQL(""))
    if kind == INT:  # int4: GraphQL's Int is 32-bit, and a bigger value stops the statement
        text = sql.SQL("(({})::int4)::text").format(expr)
    elif kind == BOOLEAN:
        text = sql.SQL("CASE WHEN {e} THEN 'true' WHEN NOT {e} THEN 'false' END").format(e=expr)
    elif kind == STRING:
        text = sql.SQL("to_json(({})::text)::text").format(expr)
    elif kind == DATE:  # ISO 8601, as graphene's Date writes date.isoformat()
        text = sql.SQL("to_json(({})::date)::text").format(expr)
    elif kind == JSON:
        text = expr
    else:
        raise ImproperlyConfigured(f"unknown scalar kind {kind!r}")
    return sql.SQL("coalesce({}, 'null')").format(text) if nullable else text


class _Scope:
    """One FROM clause: the joins its row's fields asked for, each once, in the order asked."""

    def __init__(self) -> None:
        self.joins: dict[str, sql.Composable] = {}

    def sql(self) -> sql.Composable:
        return sql.SQL(" ").join(self.joins.values()) if self.joins else sql.SQL("")


class _Builder:
    """Writes the statement for one plan and one shape."""

    def __init__(self, compiler: SQLCompiler, variants: dict[int, Hashable], names: dict[int, tuple],
                 guards: dict[int, tuple]) -> None:
        self.compiler, self.variants, self.names, self.guards = compiler, variants, names, guards
        self.aliases = itertools.count(1)

    def alias(self) -> str:
        return f"t{next(self.aliases)}"

    def params(self, node: _Node) -> dict[str, sql.Composable]:
        return {name: sql.Placeholder(f"p{node.index}_{name}") for name in self.names.get(node.index, ())}

    def variant(self, node: _Node) -> Hashable:
        return self.variants.get(node.index)

    def template(self, template: Template, node: _Node) -> str:
        return template(self.variant(node)) if callable(template) else template

    def format(self, template: str, mapping: dict[str, sql.Composable]) -> sql.Composable:
        names = _names(template)
        missing = names - set(mapping)
        if missing:
            raise ImproperlyConfigured(f"GraphQL SQL {template!r} names {sorted(missing)}, which it is not given")
        return sql.SQL(template).format(**{k: v for k, v in mapping.items() if k in names})

    def join(self, scope: _Scope, type_name: str, owner: str, name: str) -> str:
        """The alias of `type_name`'s join `name` on row `owner`, put in the scope once."""
        alias = f"{owner}_{name}"
        if alias not in scope.joins:
            template = self.compiler.types[type_name].joins.get(name)
            if template is None:
                raise ImproperlyConfigured(f"GraphQL SQL of {type_name} names {name!r}, which is no join of it")
            mapping = {"row": sql.Identifier(owner), "alias": sql.Identifier(alias)}
            for other in _names(template) - _RESERVED:  # a join on another join: that one first
                mapping[other] = sql.Identifier(self.join(scope, type_name, owner, other))
            scope.joins[alias] = self.format(template, mapping)
        return alias

    def expr(self, scope: _Scope, type_name: str, row: str, template: str, extra: dict | None = None
             ) -> sql.Composable:
        """A template over `row`: {row}, {today}, `extra` (parameters, {parent}), and any other name
        as a join of `type_name` on the row."""
        mapping = {"row": sql.Identifier(row), "today": sql.SQL("({}::date)").format(sql.Placeholder("today")),
                   **(extra or {})}
        for name in _names(template) - set(mapping):
            mapping[name] = sql.Identifier(self.join(scope, type_name, row, name))
        return self.format(template, mapping)

    def object(self, type_name: str, nodes: list[_Node], row: str | None, scope: _Scope) -> sql.Composable:
        parts: list = []
        for n, node in enumerate(nodes):
            parts.append(_key(n, node.key))
            parts.append(self.value(node, row, scope))
        parts.append("}")
        return _concat(parts)

    def value(self, node: _Node, row: str | None, scope: _Scope) -> sql.Composable | str:
        decl = node.decl
        if decl is None:  # __typename
            return json.dumps(node.parent_type)
        if isinstance(decl, Scalar):
            return scalar_json(decl.kind, self.expr(scope, node.parent_type, row, decl.sql), node.nullable)
        if isinstance(decl, (Enum, Mapped)):
            mapping = self.compiler.enum_json[(node.parent_type, node.ast.name.value)]
            return self.mapped(self.expr(scope, node.parent_type, row, decl.sql), mapping, node.nullable)
        if isinstance(decl, Inline):
            target = row if decl.join is None else self.join(scope, node.parent_type, row, decl.join)
            return sql.SQL("coalesce({}, {})").format(self.object(node.type_name, node.children, target, scope),
                                                      fallback(f"{node.key}: null object"))
        if isinstance(decl, Rows):
            return self.rows(node, decl, row)
        return decl.sql(self, node, row)  # a Connection

    @staticmethod
    def mapped(expr: sql.Composable, mapping: dict, nullable: bool) -> sql.Composable:
        whens = [sql.SQL("WHEN {} IS NULL THEN {}").format(expr, _literal("null") if nullable else fallback("null"))]
        for value, text in mapping.items():
            whens.append(sql.SQL("WHEN {} = {} THEN {}").format(
                expr, _literal(value), fallback("unserialisable value") if text is None else _literal(text)))
        return sql.SQL("CASE {} ELSE {} END").format(sql.SQL(" ").join(whens), fallback("unexpected value"))

    def rows(self, node: _Node, decl: Rows, parent: str | None) -> sql.Composable:
        row, scope = self.alias(), _Scope()
        extra = {**self.params(node), "parent": sql.Identifier(parent) if parent else sql.SQL("NULL")}
        item = self.object(node.type_name, node.children, row, scope)
        order = self.template(decl.order, node)
        order_by = sql.SQL(" ORDER BY ") + self.expr(scope, node.type_name, row, order, extra) if order else sql.SQL("")
        source_template = self.template(decl.source, node)
        if "joins" not in _names(source_template):
            raise ImproperlyConfigured(f"Rows source {source_template!r} has no {{joins}}")
        # The source last, so that its {joins} holds every join the item, the order and the source
        # itself ask for: a first pass names the source's own joins.
        self.expr(scope, node.type_name, row, source_template, {**extra, "joins": sql.SQL("")})
        source = self.expr(scope, node.type_name, row, source_template, {**extra, "joins": scope.sql()})
        stop = fallback(f"{node.key}: null item")
        if decl.many:
            value = sql.SQL("(SELECT coalesce('[' || string_agg(coalesce({}, {}), ','{}) || ']', '[]') FROM {})").format(
                item, stop, order_by, source)
        else:
            one = sql.SQL("(SELECT coalesce({}, {}) FROM {}{} LIMIT 1)").format(item, stop, source, order_by)
            value = sql.SQL("coalesce({}, {})").format(
                one, _literal("null") if node.nullable else fallback(f"{node.key}: no row"))
        check = self.template(decl.check, node) if decl.check is not None else ""
        if check:
            check = self.format(check, extra)
            value = sql.SQL("CASE WHEN {} THEN {} ELSE {} END").format(check, value, fallback(f"{node.key}: refused"))
        return value

    def statement(self, plan: Plan, query_type: str) -> str:
        body = sql.SQL("coalesce({}, {})").format(self.object(query_type, plan.nodes, None, _Scope()),
                                                  fallback("null data"))
        guards = []
        for index, shapes in sorted(self.guards.items()):
            for g, (table, columns) in enumerate(shapes):
                conditions = [sql.SQL("{} {} {}").format(sql.Identifier(column), sql.SQL("=" if c == 0 else
                              "IS NOT DISTINCT FROM"), sql.Placeholder(f"g{index}_{g}_{c}"))
                              for c, column in enumerate(columns)]
                guards.append(sql.SQL("EXISTS (SELECT FROM {} WHERE {})").format(
                    sql.Identifier(table), sql.SQL(" AND ").join(conditions)))
        if guards:
            body = sql.SQL("CASE WHEN {} THEN {} ELSE {} END").format(sql.SQL(" AND ").join(guards), body,
                                                                      fallback(STALE))
        return (sql.SQL("SELECT ") + body).as_string(None)


# -- the compiler -------------------------------------------------------------------------------------
class _Merged:
    def __init__(self) -> None:
        self.fields: dict[str, object] = {}
        self.joins: dict[str, str] = {}


_compilers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiler_for(schema) -> SQLCompiler | None:
    """The compiler composed for this graphene schema (levelup_api/schema.py), if any."""
    return _compilers.get(schema)


class _AttrRow:
    """A row whose every attribute is one value: how a field's own resolver is asked what it makes
    of a column value (graphene-django turns a blank choice into null)."""

    def __init__(self, value) -> None:
        self._value = value

    def __getattr__(self, name):
        return self._value


_MISSING = object()
class SQLCompiler:
    """Composed once, for the schema, from each app's declarations."""

    def __init__(self, schema, *declarations: Iterable[ObjectSQL]) -> None:
        self.schema = schema.graphql_schema
        self.types: dict[str, _Merged] = {}
        for group in declarations:
            for decl in group:
                merged = self.types.setdefault(decl.type_name, _Merged())
                for source, target, what in ((decl.fields, merged.fields, "field"), (decl.joins, merged.joins, "join")):
                    for name, value in source.items():
                        if name in target:
                            raise ImproperlyConfigured(f"GraphQL SQL: {decl.type_name}.{name} ({what}) declared twice")
                        target[name] = value
        self.enum_json: dict[tuple[str, str], dict] = {}
        self._check()
        self.plans = LRU(512)
        self.bindings = LRU(4096)
        _compilers[schema] = self

    def _check(self) -> None:
        """Every declaration against the schema, once at start-up: a mismatch is a bug."""
        for type_name, merged in self.types.items():
            gql_type = self.schema.get_type(type_name)
            if not isinstance(gql_type, GraphQLObjectType):
                raise ImproperlyConfigured(f"GraphQL SQL for {type_name}: no such object type in the schema")
            if set(merged.joins) & _RESERVED:
                raise ImproperlyConfigured(f"{type_name}: joins may not be called {sorted(_RESERVED)}")
            for name, template in merged.joins.items():
                if unknown := _names(template) - {"row", "alias"} - set(merged.joins):
                    raise ImproperlyConfigured(f"{type_name}'s join {name} names {sorted(unknown)}: no such joins")
            for name, decl in merged.fields.items():
                where, field_def = f"{type_name}.{name}", gql_type.fields.get(name)
                if isinstance(decl, (Scalar, Enum, Mapped)):
                    if unknown := _names(decl.sql) - {"row", "today"} - set(merged.joins):
                        raise ImproperlyConfigured(f"{where} names {sorted(unknown)}: no such joins of {type_name}")
                if isinstance(decl, Inline) and decl.join is not None and decl.join not in merged.joins:
                    raise ImproperlyConfigured(f"{where}: {type_name} has no join {decl.join!r}")
                if field_def is None:
                    raise ImproperlyConfigured(f"GraphQL SQL for {where}: no such field in the schema")
                named = get_named_type(field_def.type)
                many = isinstance(_non_null_of(field_def.type), GraphQLList)
                if isinstance(decl, Scalar):
                    if decl.kind != JSON and named.name not in _KIND_SCALARS.get(decl.kind, ()):
                        raise ImproperlyConfigured(f"{where} is {named.name}, declared {decl.kind}")
                elif isinstance(decl, Enum):
                    if not isinstance(named, GraphQLEnumType):
                        raise ImproperlyConfigured(f"{where} is not an enum")
                    self.enum_json[(type_name, name)] = _enum_json(field_def, named, decl.values)
                elif isinstance(decl, Mapped):
                    self.enum_json[(type_name, name)] = {k: json.dumps(v) for k, v in decl.mapping.items()}
                elif isinstance(decl, (Inline, Rows, Connection)):
                    if not isinstance(named, GraphQLObjectType):
                        raise ImproperlyConfigured(f"{where} is not an object field")
                    if isinstance(decl, Rows) and decl.many != many:
                        raise ImproperlyConfigured(f"{where}: many={decl.many}, but the schema says otherwise")
                    if isinstance(decl, Inline) and (many or not isinstance(field_def.type, GraphQLNonNull)):
                        raise ImproperlyConfigured(f"{where}: Inline is for a non-null object")
                else:
                    raise ImproperlyConfigured(f"{where}: unknown declaration {decl!r}")
                if field_def.args and getattr(decl, "bind", None) is None:
                    raise ImproperlyConfigured(f"{where} takes arguments: its declaration must bind them")

    # -- planning (per document and operation)
    def plan(self, doc_key: bytes, operation: OperationDefinitionNode, operation_name) -> Plan | None:
        key = (doc_key, operation_name)
        found = self.plans.get(key, _MISSING)
        if found is _MISSING:
            try:
                found = self._plan(operation)
            except NotCompilable:
                found = None
            self.plans.put(key, found)
        return found

    def _plan(self, operation: OperationDefinitionNode) -> Plan:
        if operation.operation != OperationType.QUERY or operation.directives:
            raise NotCompilable("not a plain query")
        if any(v.directives for v in operation.variable_definitions or ()):
            raise NotCompilable("directives on variables")
        nodes = self.plan_selection(self.schema.query_type, operation.selection_set, frozenset(), itertools.count(1))
        if all(node.decl is None for node in nodes):  # `{ __typename }` reads nothing: no statement for it
            raise NotCompilable("nothing to read")
        bound, stack = [], list(nodes)
        while stack:
            node = stack.pop()
            if getattr(node.decl, "bind", None) is not None:
                bound.append(node)
            stack.extend(node.children)
            stack.extend(node.extra.get("nodes", ()))
        return Plan(nodes, sorted(bound, key=lambda n: n.index))

    def plan_selection(self, parent_type: GraphQLObjectType, selection_set, context: frozenset, counter) -> list[_Node]:
        if selection_set is None:
            raise NotCompilable("an object without a selection")
        merged = self.types.get(parent_type.name)
        nodes, keys = [], set()
        for selection in selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                raise NotCompilable("fragments and directives")
            key = (selection.alias or selection.name).value
            if key in keys:  # fields merged at one key: graphql-core's field collection
                raise NotCompilable("a response key given twice")
            keys.add(key)
            name = selection.name.value
            if name == "__typename":
                nodes.append(_Node(key, None, parent_type.name, ast=selection, index=next(counter)))
                continue
            decl = merged.fields.get(name) if merged else None
            if decl is None or decl.needs - context:
                raise NotCompilable(f"{parent_type.name}.{name} is not compiled here")
            field_def = parent_type.fields[name]
            node = _Node(key, decl, parent_type.name, ast=selection, field_def=field_def, index=next(counter),
                         nullable=not isinstance(field_def.type, GraphQLNonNull))
            named = get_named_type(field_def.type)
            if isinstance(decl, Connection):
                decl.plan(self, node, named, counter)
            elif isinstance(named, GraphQLObjectType):
                node.type_name = named.name
                node.children = self.plan_selection(named, selection.selection_set, decl.context, counter)
            elif selection.selection_set is not None:
                raise NotCompilable("a selection on a scalar")
            nodes.append(node)
        return nodes

    # -- binding (per request)
    def cached_binding(self, key: Hashable, make: Callable[[], Bound]) -> Bound:
        try:
            found = self.bindings.get(key)
        except TypeError:  # an unhashable argument: bound every time
            return make()
        if found is None:
            found = make()
            self.bindings.put(key, found)
        return found

    def prepare(self, doc_key: bytes, operation: OperationDefinitionNode, operation_name, variables) -> Statement | None:
        """The statement answering this request, or None when graphql-core must. The binders may
        read (the parameter layer looks codes up), so this runs inside the request's transaction."""
        plan = self.plan(doc_key, operation, operation_name)
        if plan is None:
            return None
        context = BindContext(self)
        try:
            if variables is not None and not isinstance(variables, dict):
                raise NotCompilable("variables are not an object")
            coerced = get_variable_values(self.schema, operation.variable_definitions or [], variables or {})
            if isinstance(coerced, list):  # graphql-core reports the variables' errors
                raise NotCompilable("variables")
            params: dict = {"today": datetime.date.today()}
            variants, names, guard_shapes = {}, {}, {}
            for node in plan.bound:
                arguments = get_argument_values(node.field_def, node.ast, coerced)
                decl = node.decl
                if getattr(decl, "cache_binding", True):
                    key = (id(decl), tuple(sorted(arguments.items())))
                    bound = context.cached(key, lambda d=decl, a=arguments: d.bind(a, context))
                else:
                    bound = decl.bind(arguments, context)
                variants[node.index] = bound.variant
                names[node.index] = tuple(bound.params)
                params.update({f"p{node.index}_{k}": v for k, v in bound.params.items()})
                if bound.guards:
                    guard_shapes[node.index] = tuple((g.table, tuple(c for c, _ in g.values)) for g in bound.guards)
                    for g, guard in enumerate(bound.guards):
                        params.update({f"g{node.index}_{g}_{c}": v for c, (_, v) in enumerate(guard.values)})
        except (NotCompilable, GraphQLError, ParameterError):
            return None
        null_variables = frozenset(k for k, v in coerced.items() if v is None)
        shape = (null_variables, tuple(sorted(variants.items())), tuple(sorted(names.items())),
                 tuple(sorted(guard_shapes.items())))
        text = plan.sql.get(shape)
        if text is None:
            text = _Builder(self, variants, names, guard_shapes).statement(plan, self.schema.query_type.name)
            plan.sql.put(shape, text)
        for finish in STATEMENT_FINISHERS:
            text = finish(text)
        return Statement(text, params, tuple(context.keys))

    def forget(self, statement: Statement) -> None:
        """The statement handed over: a row its bindings read may have changed, so they are made
        afresh next time."""
        for key in statement.bindings:
            try:
                self.bindings.pop(key)
            except TypeError:
                pass

    @staticmethod
    def execute(db, statement: Statement) -> bytes:
        """Runs the statement on `db` (a Django connection), prepared, with its parameters bound by
        the server, and returns the `data` object's JSON. Django's cursor wrappers see it, so the
        request log and query counts include it."""
        cursor = prepared_cursor(db, _PreparedCursor)
        try:
            cursor.execute(statement.sql, statement.params)
            (body,) = cursor.fetchone()
        finally:
            cursor.close()
        return body


def _enum_json(field_def, enum_type: GraphQLEnumType, values: tuple) -> dict:
    """Each column value's JSON, as the schema's field makes it: its resolver (graphene-django turns a
    blank choice into null), then its enum's serialisation; None where graphql-core would fail."""
    out = {}
    for value in values:
        try:
            resolved = field_def.resolve(_AttrRow(value), None) if field_def.resolve else value
            out[value] = "null" if resolved is None else json.dumps(enum_type.serialize(resolved))
        except Exception:  # noqa: BLE001 - whatever it is, graphql-core reports it
            out[value] = None
    return out


def _non_null_of(type_):
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def document_key(query: str) -> bytes:
    return hashlib.sha256(query.encode()).digest()


# -- executing ------------------------------------------------------------------------------------------
class _TextAsBytes(Loader):
    """The statement's one text column as the bytes PostgreSQL sent: nothing decoded and re-encoded."""

    def load(self, data) -> bytes:
        return bytes(data)


class _PreparedCursor(PreparedCursor):
    """Prepared (levelup_api.core.prepared), with the statement's one text column read as bytes."""

    def __init__(self, connection) -> None:
        super().__init__(connection)
        self.adapters.register_loader("text", _TextAsBytes)


STALE = "a bound row changed"


def handed_over(exc: BaseException) -> str | None:
    """Why the statement stopped on purpose (levelup_graphql_fallback), or None for any other error."""
    cause = getattr(exc, "__cause__", None)
    if getattr(cause, "sqlstate", None) != FALLBACK_SQLSTATE:
        return None
    return getattr(cause.diag, "message_primary", None) or ""


# -- Relay connections ------------------------------------------------------------------------------------
_CONNECTION_FIELDS = {"totalCount", "edges", "pageInfo", "__typename"}
_EDGE_FIELDS = {"cursor", "node", "__typename"}
_PAGE_INFO_FIELDS = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor", "__typename"}


@dataclass(frozen=True)
class Connection:
    """A graphene-django connection (DjangoConnectionField with CountedConnection's totalCount)
    over `table`. `rows` binds the filter arguments (those named in `filters`) to a Bound whose
    variant is the SQL selecting the matching primary keys (queryset_sql of the FilterSet's own
    QuerySet); `order` orders the nodes (over {row}). Paging is graphene-django's: first, after
    and offset; `last` and `before` are graphql-core's."""

    table: str
    rows: Callable[[dict, BindContext], Bound]
    order: str
    filters: tuple[str, ...]
    context: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    cache_binding = False  # the paging is cheap; the filters' binding is cached (BindContext.cached)

    def bind(self, arguments: dict, context: BindContext) -> Bound:
        from graphene_django.settings import graphene_settings
        from graphql_relay import cursor_to_offset

        if arguments.get("last") is not None or arguments.get("before") is not None:
            raise NotCompilable("last and before")
        filters = {k: v for k, v in arguments.items() if k in self.filters}
        rows = context.cached((id(self), tuple(sorted(filters.items()))), lambda: self.rows(filters, context))
        # DjangoConnectionField.connection_resolver and resolve_connection, in the same steps.
        max_limit = graphene_settings.RELAY_CONNECTION_MAX_LIMIT
        first, offset, after = arguments.get("first"), arguments.get("offset"), arguments.get("after")
        if first is not None and (first < 0 or (max_limit and first > max_limit)):
            raise NotCompilable("first out of range")  # graphene-django's error
        if offset:
            if after:
                found = cursor_to_offset(after)
                if found is None:
                    raise NotCompilable("offset with an unreadable cursor")
                offset += found + 1
            after_offset = offset - 1
        else:
            found = cursor_to_offset(after) if isinstance(after, str) else None
            after_offset = -1 if found is None else found
        if after_offset < -1:
            raise NotCompilable("a negative slice")  # Django refuses negative indexing
        if first is None:
            if not max_limit:
                raise NotCompilable("no page size")
            first = max_limit
        return Bound((rows.variant,), {**rows.params, "start": after_offset + 1, "first": first}, rows.guards)

    # -- the connection's own fields are planned here: totalCount, edges { cursor node }, pageInfo
    def plan(self, compiler: SQLCompiler, node: _Node, connection_type: GraphQLObjectType, counter) -> None:
        node.type_name = connection_type.name
        node.extra["nodes"] = []
        node.extra["fields"] = self._level(node.ast, _CONNECTION_FIELDS)
        for sub in node.extra["fields"]:
            name = sub.ast.name.value
            if name == "edges":
                edge_type = get_named_type(connection_type.fields["edges"].type)
                sub.type_name = edge_type.name
                sub.extra["fields"] = self._level(sub.ast, _EDGE_FIELDS)
                for leaf in sub.extra["fields"]:
                    if leaf.ast.name.value == "node":
                        node_type = get_named_type(edge_type.fields["node"].type)
                        leaf.type_name = node_type.name
                        leaf.children = compiler.plan_selection(node_type, leaf.ast.selection_set, self.context,
                                                                counter)
                        node.extra["nodes"].extend(leaf.children)
            elif name == "pageInfo":
                sub.type_name = get_named_type(connection_type.fields["pageInfo"].type).name
                sub.extra["fields"] = self._level(sub.ast, _PAGE_INFO_FIELDS)

    @staticmethod
    def _level(ast: FieldNode, allowed: set[str]) -> list[_Node]:
        if ast.selection_set is None:
            raise NotCompilable("a connection without a selection")
        out, keys = [], set()
        for selection in ast.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
                raise NotCompilable("fragments, directives or arguments in a connection")
            key = (selection.alias or selection.name).value
            if key in keys or selection.name.value not in allowed:
                raise NotCompilable("a connection field")
            keys.add(key)
            out.append(_Node(key, None, "", ast=selection))
        return out

    def sql(self, builder: _Builder, node: _Node, parent: str | None) -> sql.Composable:
        (ids_template,) = builder.variant(node)
        params = builder.params(node)
        ids = builder.format(ids_template, params)
        start = sql.SQL("({}::int8)").format(params["start"])
        first = sql.SQL("({}::int8)").format(params["first"])
        counted = builder.alias()
        total = sql.SQL("{}.total").format(sql.Identifier(counted))
        nonempty = sql.SQL("({s} < {n} AND {f} > 0)").format(s=start, n=total, f=first)
        parts: list = []
        for n, sub in enumerate(node.extra["fields"]):
            parts.append(_key(n, sub.key))
            name = sub.ast.name.value
            if name == "__typename":
                parts.append(json.dumps(node.type_name))
            elif name == "totalCount":
                parts.append(sql.SQL("(({})::int4)::text").format(total))
            elif name == "pageInfo":
                parts.append(self._page_info(sub, start, first, total, nonempty))
            else:
                parts.append(self._edges(builder, sub, ids, start, first))
        parts.append("}")
        return sql.SQL("(SELECT {} FROM (SELECT count(*) AS total FROM ({}) AS ids) AS {})").format(
            _concat(parts), ids, sql.Identifier(counted))

    @staticmethod
    def _page_info(sub: _Node, start, first, total, nonempty) -> sql.Composable:
        parts: list = []
        for n, leaf in enumerate(sub.extra["fields"]):
            parts.append(_key(n, leaf.key))
            name = leaf.ast.name.value
            if name == "__typename":
                parts.append(json.dumps(sub.type_name))
            elif name == "hasPreviousPage":
                parts.append("false")  # graphene-django: true only with `last`, which is graphql-core's
            elif name == "hasNextPage":
                parts.append(sql.SQL("CASE WHEN least({s}, {n}) + {f} < {n} THEN 'true' ELSE 'false' END").format(
                    s=start, n=total, f=first))
            elif name == "startCursor":
                parts.append(sql.SQL("CASE WHEN {} THEN {} ELSE 'null' END").format(nonempty, _cursor(start)))
            else:  # endCursor
                last = sql.SQL("least({n}, {s} + {f}) - 1").format(n=total, s=start, f=first)
                parts.append(sql.SQL("CASE WHEN {} THEN {} ELSE 'null' END").format(nonempty, _cursor(last)))
        parts.append("}")
        return _concat(parts)

    def _edges(self, builder: _Builder, sub: _Node, ids, start, first) -> sql.Composable:
        row, page, inner, scope = builder.alias(), builder.alias(), builder.alias(), _Scope()
        parts: list = []
        for n, leaf in enumerate(sub.extra["fields"]):
            parts.append(_key(n, leaf.key))
            name = leaf.ast.name.value
            if name == "__typename":
                parts.append(json.dumps(sub.type_name))
            elif name == "cursor":
                parts.append(_cursor(sql.SQL("{}.off").format(sql.Identifier(row))))
            else:  # node
                parts.append(sql.SQL("coalesce({}, {})").format(
                    builder.object(leaf.type_name, leaf.children, row, scope), fallback("null node")))
        parts.append("}")
        # The page is cut first (OFFSET/LIMIT on the ordered ids), then numbered from its start:
        # an edge's cursor is its offset in the whole result, as graphql_relay numbers it.
        pages = sql.SQL(
            "(SELECT {page}.*, {start} + row_number() OVER (ORDER BY {order_page}) - 1 AS off "
            "FROM (SELECT {inner}.* FROM {table} AS {inner} WHERE {inner}.id IN ({ids}) "
            "ORDER BY {order_inner} OFFSET {start} LIMIT {first}) AS {page}) AS {row}").format(
            page=sql.Identifier(page), inner=sql.Identifier(inner), row=sql.Identifier(row), table=sql.Identifier(self.table),
            order_page=builder.format(self.order, {"row": sql.Identifier(page)}),
            order_inner=builder.format(self.order, {"row": sql.Identifier(inner)}), ids=ids, start=start, first=first)
        return sql.SQL("(SELECT coalesce('[' || string_agg(coalesce({}, {}), ',' ORDER BY {}.off) || ']', '[]') "
                       "FROM {} {})").format(_concat(parts), fallback("null edge"), sql.Identifier(row), pages,
                                             scope.sql())


def _cursor(offset: sql.Composable) -> sql.Composable:
    """graphql_relay's offset_to_cursor: base64 of "arrayconnection:<offset>"."""
    return sql.SQL("'\"' || encode(convert_to('arrayconnection:' || ({})::text, 'UTF8'), 'base64') || '\"'").format(offset)

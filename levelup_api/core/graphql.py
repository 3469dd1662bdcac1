"""GraphQL plumbing shared by every app's types: the counted Relay connection, what a query selects,
per-list batching, and the one translation of `ParameterError` into a GraphQL error. Nothing here
knows any app: the apps import it, never the other way round (the app graph in pyproject.toml)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import graphene
from graphene import relay
from graphene.utils.str_converters import to_camel_case
from graphene_django.filter import DjangoFilterConnectionField
from graphql import GraphQLError, GraphQLResolveInfo
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode

from .params import ParameterError, Params, params_parse


class CountedConnection(relay.Connection):
    """A Relay connection with the total number of rows, as REST gives `count`."""

    class Meta:
        abstract = True

    total_count = graphene.Int(required=True, description="Rows matching the filters, across all pages.")

    def resolve_total_count(root, info):
        return root.length


def parameter_graphql_error(exc: ParameterError, info: GraphQLResolveInfo | None = None) -> GraphQLError:
    """The GraphQL form of a parameter that cannot be used: its message, the argument named in
    `extensions.parameter`, the standard `BAD_USER_INPUT` code, and the field's location and path."""
    return GraphQLError(
        exc.message,
        nodes=info.field_nodes if info is not None else None,
        path=info.path.as_list() if info is not None else None,
        original_error=exc,
        # The argument as the client wrote it (GraphQL names are camelCase: areaType, minCoverage).
        extensions={"parameter": to_camel_case(exc.parameter) if exc.parameter else None, "code": "BAD_USER_INPUT"},
    )


@contextmanager
def parameter_errors(info: GraphQLResolveInfo) -> Iterator[None]:
    """A `ParameterError` raised inside (by a selector, a service or a resolver) leaves as the
    field's GraphQL error; `from None` because the GraphQL client has no use for our traceback."""
    try:
        yield
    except ParameterError as exc:
        raise parameter_graphql_error(exc, info) from None


def graphql_params(params_class: type[Params], info: GraphQLResolveInfo, **arguments) -> dict:
    """A field's arguments parsed by the same declaration as its REST twin (levelup_api.core.params):
    the same types, bounds and error texts; a problem is a GraphQL error naming the argument."""
    with parameter_errors(info):
        return params_parse(params_class, {k: v for k, v in arguments.items() if v is not None}).cleaned


class ParamsConnectionField(DjangoFilterConnectionField):
    """A Relay connection filtered by a parameter-layer declaration: arguments are parsed by
    params_parse (deprecated spellings included) and a problem is a GraphQL error naming it,
    not graphene-django's ValidationError with the form's errors as a JSON string."""

    def __init__(self, *args, deprecated_arguments: dict[str, graphene.Argument] | None = None, **kwargs):
        self._deprecated_arguments = deprecated_arguments or {}
        super().__init__(*args, **kwargs)

    @property
    def args(self):
        return {**super().args, **self._deprecated_arguments}

    @args.setter
    def args(self, args):
        self._base_args = args

    @classmethod
    def resolve_queryset(cls, connection, iterable, info, args, filtering_args, filterset_class):
        qs = super(DjangoFilterConnectionField, cls).resolve_queryset(connection, iterable, info, args)
        accepted = set(filtering_args) | set(filterset_class.deprecated_aliases)
        data = {k: v for k, v in args.items() if k in accepted and v is not None}
        with parameter_errors(info):
            return params_parse(filterset_class, data, queryset=qs, request=info.context).qs


def comma_list(value: str | None) -> list[str]:
    """A comma-separated argument (`indicator: "a,b"`) as its non-empty items, as REST reads it."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def selected_fields(info: GraphQLResolveInfo, nodes: Iterable[FieldNode]) -> set[str]:
    """Names selected directly under `nodes`, looking through fragments and connection edges/node,
    so a resolver can eager-load exactly what the query asks for."""
    names: set[str] = set()
    stack = [sel for n in nodes if n.selection_set for sel in n.selection_set.selections]
    while stack:
        sel = stack.pop()
        if isinstance(sel, FieldNode):
            if sel.name.value in {"edges", "node"} and sel.selection_set:
                stack.extend(sel.selection_set.selections)
            else:
                names.add(sel.name.value)
        elif isinstance(sel, InlineFragmentNode):
            stack.extend(sel.selection_set.selections)
        elif isinstance(sel, FragmentSpreadNode):
            stack.extend(info.fragments[sel.name.value].selection_set.selections)
    return names


# A synchronous DataLoader. graphql-core resolves a list's items one after another, so the first
# item's field can fetch the values for every item of its list in one query if each item knows its
# siblings. The list's resolver marks them (`batched`); the field reads the marks (`batch_ids`) and
# keeps what it fetched for the request (`request_batches`), where the siblings find it.
_BATCH_ATTR = "_batch_ids"


def batched(rows: Iterable) -> list:
    """Evaluate a list of model instances and tell each the ids of the whole list."""
    rows = list(rows)
    ids = tuple(r.id for r in rows)
    for r in rows:
        setattr(r, _BATCH_ATTR, ids)
    return rows


def batch_ids(row) -> tuple:
    """The ids fetched together with `row`: its list's, or only its own outside a batched list."""
    return getattr(row, _BATCH_ATTR, None) or (row.id,)


def request_batches(info: GraphQLResolveInfo, name: str) -> dict:
    """A per-request store for one batched field's results (the request object lives as long as
    the request does, so nothing outlives it)."""
    return info.context.__dict__.setdefault(f"_{name}_batches", {})

"""Limits that keep one GraphQL request from running away: nesting depth, an estimated cost that
multiplies through list sizes, the connection page size (graphene-django's
RELAY_CONNECTION_MAX_LIMIT), and a statement timeout for the request's SQL."""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from graphene.validation import depth_limit_validator
from graphene_django.views import GraphQLView
from graphql import GraphQLError, ValidationRule
from graphql.language import FieldNode, FragmentSpreadNode, InlineFragmentNode, IntValueNode, OperationDefinitionNode

from levelup_api.core import replicas
from levelup_api.core.quotas import quota_refusal


def _size(field: FieldNode, variables_unknown: int) -> int:
    """How many items a field can return: `first`/`last` when given, else a known bound."""
    for arg in field.arguments or ():
        if arg.name.value in ("first", "last", "n"):
            return int(arg.value.value) if isinstance(arg.value, IntValueNode) else variables_unknown
    return settings.LEVELUP["GRAPHQL_LIST_SIZES"].get(field.name.value, 1)


class CostLimitRule(ValidationRule):
    """Estimated cost: each field counts once per item of every list above it. Refused above
    LEVELUP["GRAPHQL_MAX_COST"] with the estimate in the message."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *args):
        cost = self._cost(node.selection_set, 1, depth=0)
        limit = settings.LEVELUP["GRAPHQL_MAX_COST"]
        if cost > limit:
            self.report_error(GraphQLError(
                f"query too costly: about {cost:,} field values (limit {limit:,}); ask for fewer items "
                "(first/last), fewer nested lists, or use the REST CSV endpoints for bulk data", node))

    def _cost(self, selection_set, multiplier: int, depth: int) -> int:
        if selection_set is None or depth > 50:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                size = multiplier * _size(selection, settings.LEVELUP["GRAPHQL_DEFAULT_PAGE"])
                total += size + self._cost(selection.selection_set, size, depth + 1)
            elif isinstance(selection, InlineFragmentNode):
                total += self._cost(selection.selection_set, multiplier, depth + 1)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.context.get_fragment(selection.name.value)
                if fragment is not None:
                    total += self._cost(fragment.selection_set, multiplier, depth + 1)
        return total


class LimitedGraphQLView(GraphQLView):
    validation_rules = (depth_limit_validator(max_depth=10), CostLimitRule)

    def dispatch(self, request, *args, **kwargs):
        # The REST API's quota (per IP, or per API key), counted on the same counters.
        return quota_refusal(request) or super().dispatch(request, *args, **kwargs)

    def execute_graphql_request(self, *args, **kwargs):
        """The whole query reads from one database (a replica when one is healthy), in one
        transaction there, so the statement timeout is SET LOCAL and ends with the request. If the
        replica fails under the query, the query is answered again from the primary."""
        alias = replicas.read_alias()
        if alias != "default":
            try:
                result = self._execute_on(alias, *args, **kwargs)
            except DatabaseError as exc:
                if not replicas.lost_replica(exc):
                    raise
                result = None
            if result is not None and not any(replicas.lost_replica(getattr(e, "original_error", None))
                                              for e in result.errors or ()):
                return result
            replicas.mark_down(alias)
        return self._execute_on("default", *args, **kwargs)

    def _execute_on(self, alias, *args, **kwargs):
        with contextlib.ExitStack() as stack:
            stack.enter_context(replicas.reading_from(alias))
            for using in dict.fromkeys((alias, "default")):  # raw SQL in resolvers runs on the primary
                stack.enter_context(transaction.atomic(using=using))
                with connections[using].cursor() as cursor:
                    cursor.execute("SELECT set_config('statement_timeout', %s, true)",
                                   [str(settings.LEVELUP["GRAPHQL_STATEMENT_TIMEOUT_MS"])])
            return super().execute_graphql_request(*args, **kwargs)

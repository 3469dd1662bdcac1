"""Limits that keep one GraphQL request from running away, all checked before any SQL runs: the
document's size (bytes, then tokens while parsing), the number of fragments, nesting depth, an
estimated cost that multiplies through list sizes, the number of fields, of aliases and of fields
merged at one response path; then the connection page size (graphene-django's
RELAY_CONNECTION_MAX_LIMIT) and a statement timeout for the request's SQL.

The limits count every fragment where it is spread, as if expanded, but measure each fragment once
and reuse the measure, so measuring is linear in the document's size: a 1 KB document that doubles a
fragment 30 times asks for 2^30 fields and is refused in about a millisecond. They run before
graphql-core's specified rules and stop validation at once when a document is over them, because
OverlappingFieldsCanBeMergedRule takes time quadratic in the fields merged at one path and in the
fragments that meet in one selection set (1,000 copies of one field, 20 KB, take 0.8 s).

The view (LimitedGraphQLView) then answers a document made only of fields with declared SQL with
one statement (levelup_api/core/graphql_sql.py, docs/graphql.md), and anything else with graphql-core,
under the same quota, replica choice, transaction and timeout; X-GraphQL-Path says which."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    SKIP,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation.validate import ValidationAbortedError
from psycopg.errors import QueryCanceled

from levelup_api.core import replicas
from levelup_api.core.graphql_sql import LRU, STALE, SQLCompiler, compiler_for, document_key, handed_over
from levelup_api.core.quotas import quota_refusal

logger = logging.getLogger(__name__)

# Selection sets nested deeper than this (counting fragments) are refused before they are measured,
# as graphql-core's parser and validator refuse them: the measure recurses once per level.
MAX_NESTING = 200
# Counts saturate here: a doubled fragment or nested list pages can name numbers too long to print
# (Python refuses str() of an int over 4,300 digits), and any of them is far over every limit.
CEILING = 10**15
# GraphQL's Int is 32-bit (a longer literal is refused by ValuesOfCorrectTypeRule anyway).
MAX_INT = 2**31 - 1


class QueryLimitError(ValidationAbortedError):
    """A document over a limit. graphql-core's `validate` keeps a raised ValidationAbortedError as
    the last error and runs no further rule, which is how the limits stop validation."""

    def __init__(self, message: str, node, code: str, limit: int, actual: int | None = None, **extensions):
        extensions = {"code": code, "limit": limit, **extensions}
        if actual is not None:
            extensions["actual"] = min(actual, CEILING)
        super().__init__(message, node, extensions=extensions)


def _amount(n: int) -> str:
    return f"{n:,}" if n < CEILING else f"more than {CEILING:,}"


@dataclass(frozen=True, slots=True)
class Measure:
    """What a selection set asks for, with its fragments expanded."""

    depth: int = 0  # fields with a selection on the deepest path (introspection fields not counted)
    cost: int = 0  # field values per item of the list above
    fields: int = 0
    aliases: int = 0


NOTHING = Measure()

# Fields merged by response path: name -> [fields merged there, the tree below them].
Tree = dict[str, list]


class _NestedTooDeeply(Exception):
    pass


class _Walk:
    """A memoised walk of selection sets: each fragment is walked once however often it is spread,
    a fragment that spreads itself ends the walk there, and nesting is bounded."""

    def __init__(self, context) -> None:
        self.context = context
        self.memo: dict = {}  # fragment name -> its value, or None while it is being walked
        self.nesting = 0

    def empty(self):
        raise NotImplementedError

    def measure(self, node: SelectionSetNode):
        raise NotImplementedError

    def fragment(self, name: str):
        if name in self.memo:
            # None: the fragment spreads itself. NoFragmentCyclesRule reports the cycle; counted as
            # nothing here, the walk ends.
            value = self.memo[name]
            return self.empty() if value is None else value
        definition = self.context.get_fragment(name)
        if definition is None:
            return self.empty()  # KnownFragmentNamesRule reports it
        self.memo[name] = None
        self.memo[name] = value = self.selection_set(definition.selection_set)
        return value

    def selection_set(self, node: SelectionSetNode):
        self.nesting += 1
        try:
            if self.nesting > MAX_NESTING:
                raise _NestedTooDeeply
            return self.measure(node)
        finally:
            self.nesting -= 1


class _Measures(_Walk):
    """Depth, cost, fields and aliases."""

    def __init__(self, context) -> None:
        super().__init__(context)
        self.list_sizes = settings.LEVELUP["GRAPHQL_LIST_SIZES"]
        self.variable_page = settings.LEVELUP["GRAPHQL_DEFAULT_PAGE"]

    def empty(self) -> Measure:
        return NOTHING

    def size(self, node: FieldNode) -> int:
        """How many items a field can return: `first`/`last`/`n` when given, else a known bound.
        A negative page counts as empty, so it cannot lower the estimate of the rest."""
        for arg in node.arguments or ():
            if arg.name.value in ("first", "last", "n"):
                if not isinstance(arg.value, IntValueNode):
                    return self.variable_page
                text = arg.value.value
                return 0 if text.startswith("-") else min(int(text), MAX_INT) if len(text) <= 10 else MAX_INT
        return self.list_sizes.get(node.name.value, 1)

    def measure(self, node: SelectionSetNode) -> Measure:
        depth = cost = fields = aliases = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                sub = self.selection_set(selection.selection_set) if selection.selection_set else NOTHING
                # Each field counts once per item of every list above it (the cost is linear in the
                # items above, so a fragment's cost per item is reused wherever it is spread).
                cost += self.size(selection) * (1 + sub.cost)
                fields += 1 + sub.fields
                aliases += (selection.alias is not None) + sub.aliases
                # graphene's depth_limit_validator's semantics: introspection is not counted.
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + sub.depth)
            else:  # a spread or an inline fragment: its fields are asked for here
                sub = (self.fragment(selection.name.value) if isinstance(selection, FragmentSpreadNode)
                       else self.selection_set(selection.selection_set))
                depth = max(depth, sub.depth)
                cost += sub.cost
                fields += sub.fields
                aliases += sub.aliases
        return Measure(depth, min(cost, CEILING), min(fields, CEILING), min(aliases, CEILING))


def _merge(into: Tree, tree: Tree) -> None:
    """Adds `tree` to `into`, copying (a fragment's tree is shared by every spread of it)."""
    for name, (count, below) in tree.items():
        node = into.get(name)
        if node is None:
            into[name] = node = [0, {}]
        node[0] = min(node[0] + count, CEILING)
        _merge(node[1], below)


class _Merges(_Walk):
    """How many fields merge at each response path. graphql-core's OverlappingFieldsCanBeMergedRule
    compares the fields that merge at one path pairwise, so its time grows with the square of
    these counts; bounding them bounds it (with the number of fields)."""

    def empty(self) -> Tree:
        return {}

    def measure(self, node: SelectionSetNode) -> Tree:
        tree: Tree = {}
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                entry = tree.setdefault((selection.alias or selection.name).value, [0, {}])
                entry[0] += 1
                if selection.selection_set:
                    below = self.selection_set(selection.selection_set)  # a new tree: adopted if it can be
                    if entry[1]:
                        _merge(entry[1], below)
                    else:
                        entry[1] = below
            elif isinstance(selection, FragmentSpreadNode):
                _merge(tree, self.fragment(selection.name.value))
            else:
                _merge(tree, self.selection_set(selection.selection_set))
        return tree


def _most_merged(tree: Tree) -> tuple[int, str]:
    """The most fields merged at one response path, and that path (dotted)."""
    most, where = 0, ""
    stack = [(tree, "")]
    while stack:
        level, prefix = stack.pop()
        for name, (count, below) in level.items():
            path = f"{prefix}{name}"
            if count > most:
                most, where = count, path
            if below:
                stack.append((below, f"{path}."))
    return most, where


def _measure_errors(label: str, measure: Measure, node) -> list[QueryLimitError]:
    limits = settings.LEVELUP
    errors = []
    if measure.depth > (limit := limits["GRAPHQL_MAX_DEPTH"]):
        # graphene's depth_limit_validator's message, which clients may already match.
        errors.append(QueryLimitError(f"{label} exceeds maximum operation depth of {limit}.", node,
                                      "DEPTH_LIMIT", limit, measure.depth))
    if measure.cost > (limit := limits["GRAPHQL_MAX_COST"]):
        about = "about " if measure.cost < CEILING else ""
        errors.append(QueryLimitError(
            f"query too costly: {about}{_amount(measure.cost)} field values (limit {limit:,}); ask for fewer "
            "items (first/last), fewer nested lists, or use the REST CSV endpoints for bulk data", node,
            "COST_LIMIT", limit, measure.cost))
    if measure.fields > (limit := limits["GRAPHQL_MAX_FIELDS"]):
        errors.append(QueryLimitError(
            f"{label} asks for {_amount(measure.fields)} fields, counting each fragment wherever it is spread "
            f"(limit {limit:,}); ask for fewer fields or spread fewer fragments", node,
            "FIELD_LIMIT", limit, measure.fields))
    if measure.aliases > (limit := limits["GRAPHQL_MAX_ALIASES"]):
        errors.append(QueryLimitError(
            f"{label} has {_amount(measure.aliases)} aliases, counting each fragment wherever it is spread "
            f"(limit {limit:,})", node, "ALIAS_LIMIT", limit, measure.aliases))
    return errors


def _merge_errors(label: str, tree: Tree, node) -> list[QueryLimitError]:
    limit = settings.LEVELUP["GRAPHQL_MAX_REPEATS"]
    most, path = _most_merged(tree)
    if most <= limit:
        return []
    return [QueryLimitError(
        f"{label} asks for '{path}' {_amount(most)} times, counting each fragment wherever it is spread "
        f"(limit {limit:,}); ask for each field once", node, "REPEAT_LIMIT", limit, most, path=path)]


class QueryLimitsRule(ValidationRule):
    """The number of fragments, and the depth, cost, fields, aliases and merged fields of every
    operation, measured when the document is entered (before any other rule has walked it). A
    document over a limit is refused with every limit it breaks, and validation stops there.

    A fragment no operation spreads is measured too (the specified rules would still walk it); a
    spread one is within the limits of the operations that spread it."""

    def enter_document(self, node: DocumentNode, *_args):
        try:
            errors = self.errors(node)
        except _NestedTooDeeply:
            errors = [QueryLimitError(f"query nests selections more than {MAX_NESTING} levels deep, counting "
                                      "fragments", None, "NESTING_LIMIT", MAX_NESTING)]
        if errors:
            *first, last = errors
            for error in first:
                self.report_error(error)
            raise last
        return SKIP

    def errors(self, document: DocumentNode) -> list[QueryLimitError]:
        operations = [(f"'{d.name.value if d.name else 'anonymous'}'", d) for d in document.definitions
                      if isinstance(d, OperationDefinitionNode)]
        fragments = [(f"fragment '{d.name.value}'", d) for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)]

        errors = []
        # graphql-core compares the fragments that meet in a selection set pairwise (and those they
        # spread), so its time grows with the square of their number.
        if len(fragments) > (limit := settings.LEVELUP["GRAPHQL_MAX_FRAGMENTS"]):
            errors.append(QueryLimitError(f"query defines {len(fragments):,} fragments (limit {limit:,})",
                                          None, "FRAGMENT_LIMIT", limit, len(fragments)))
        # Counts first: within their limits, the merged trees below hold at most as many fields.
        measures = _Measures(self.context)
        errors += [e for label, d in operations
                   for e in _measure_errors(label, measures.selection_set(d.selection_set), d)]
        unused = [(label, d) for label, d in fragments if d.name.value not in measures.memo]
        errors += [e for label, d in unused for e in _measure_errors(label, measures.fragment(d.name.value), d)]
        if errors:
            return errors
        merges = _Merges(self.context)
        errors = [e for label, d in operations for e in _merge_errors(label, merges.selection_set(d.selection_set), d)]
        return errors + [e for label, d in unused for e in _merge_errors(label, merges.fragment(d.name.value), d)]


def document_parse(query: object) -> DocumentNode:
    """The document, if its size and tokens are within the limits; else a GraphQLError saying which."""
    if not isinstance(query, str):
        raise GraphQLError("the query must be a string", extensions={"code": "GRAPHQL_PARSE_FAILED"})
    limit = settings.LEVELUP["GRAPHQL_MAX_QUERY_BYTES"]
    # Checked before parsing: the parser's time and memory grow with the document.
    if (size := len(query.encode())) > limit:
        raise GraphQLError(f"query too large: {size:,} bytes (limit {limit:,}); send a smaller document, "
                           "with variables for long values", extensions={"code": "QUERY_TOO_LARGE", "limit": limit,
                                                                           "actual": size})
    tokens = settings.LEVELUP["GRAPHQL_MAX_TOKENS"]
    try:
        return parse(query, max_lexical_tokens=tokens, max_comments=tokens)
    except GraphQLError as error:
        error.extensions = error.extensions or {"code": "GRAPHQL_PARSE_FAILED"}
        raise


# Parsed and validated documents, by document (its SHA-256) and the limits it was checked against:
# a client sending the same query again skips the parser and the specified rules. Documents up to
# 8 KB only, so that the cache stays small whatever is sent.
_DOCUMENTS = LRU(256)
_CACHED_DOCUMENT_BYTES = 8192


def _limits() -> tuple:
    levelup = settings.LEVELUP
    return (graphene_settings.MAX_VALIDATION_ERRORS,
            *((k, repr(v)) for k, v in sorted(levelup.items()) if k.startswith("GRAPHQL_") and k != "GRAPHQL_COMPILED"))


def checked_document(query: object, schema, rules) -> tuple[bytes | None, DocumentNode | None, list[GraphQLError]]:
    """(document key, document, errors): parsed within the limits (document_parse) and validated
    (the limits, then the specified rules); errors from the parser leave no document."""
    key = cache_key = None
    if isinstance(query, str) and len(query) <= settings.LEVELUP["GRAPHQL_MAX_QUERY_BYTES"]:
        key = document_key(query)  # (characters: at most as many as bytes) what the compiled path's plans are kept by
        if len(query) <= _CACHED_DOCUMENT_BYTES:
            cache_key = (key, _limits())
            found = _DOCUMENTS.get(cache_key)
            if found is not None:
                return key, *found
    try:
        document = document_parse(query)
    except GraphQLError as error:
        found = (None, [error])
    else:
        errors = validate(schema, document, rules, graphene_settings.MAX_VALIDATION_ERRORS)
        for error in errors:
            error.extensions = error.extensions or {"code": "GRAPHQL_VALIDATION_FAILED"}
        found = (document, errors)
    if cache_key is not None:
        _DOCUMENTS.put(cache_key, found)
    return key, *found


class RawData:
    """The `data` object as JSON text, written by PostgreSQL (the compiled path)."""

    def __init__(self, body: bytes) -> None:
        self.body = body


class _HandOver(Exception):
    """The compiled statement stopped: graphql-core answers, in a fresh transaction."""


# The response header saying which path answered; a request may send it as "resolved" to have
# graphql-core answer (how tests/clients.py compares the two paths on every document).
PATH_HEADER = "X-GraphQL-Path"


class LimitedGraphQLView(GraphQLView):
    # The limits first: a document over them is refused before the specified rules walk it.
    validation_rules = (QueryLimitsRule, *specified_rules)
    # PrimaryForWritesMiddleware lets a POST here read from a replica: GraphQL reads are POSTed. A
    # mutation is sent to the primary by execute_graphql_request (the schema has none today).
    replica_reads_on_post = True

    @staticmethod
    def format_error(error):
        """A database error inside a resolver is reported without PostgreSQL's own words (which name
        tables, columns and settings); the full error goes to the log."""
        original = getattr(error, "original_error", None)
        if isinstance(original, DatabaseError):
            logger.error("GraphQL field failed on the database", exc_info=original)
            if isinstance(getattr(original, "__cause__", None), QueryCanceled):
                message = (f"the query was stopped after {settings.LEVELUP['GRAPHQL_STATEMENT_TIMEOUT_MS']:,} ms; "
                           "ask for fewer items, or use the REST CSV endpoints for bulk data")
            else:
                message = "a database error stopped this field; it is logged, please report it if it persists"
            formatted = error.formatted
            return {**formatted, "message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        return GraphQLView.format_error(error)

    def dispatch(self, request, *args, **kwargs):
        # The REST API's quota (per IP, or per API key), counted on the same counters. Its reads (the
        # key, the counters) stay on the primary: fresh counts, and a replica that has just died
        # cannot fail the request before the query's own fallback to the primary.
        with replicas.reading_from("default"):
            refused = quota_refusal(request)
        if refused:
            return refused
        response = super().dispatch(request, *args, **kwargs)
        path = getattr(request, "levelup_graphql_path", None)
        if path is not None:
            response[PATH_HEADER] = path
        return response

    def json_encode(self, request, d, pretty=False):
        data = d.get("data")
        if isinstance(data, RawData):
            if not (self.pretty or pretty) and not request.GET.get("pretty"):
                return b'{"data":' + data.body + b"}"
            d = {**d, "data": json.loads(data.body)}  # graphene-django's pretty form: sorted, indented
        return super().json_encode(request, d, pretty)

    def compiler(self, request) -> SQLCompiler | None:
        """The compiled path, unless it is switched off (LEVELUP["GRAPHQL_COMPILED"]) or the request
        asks for graphql-core (X-GraphQL-Path: resolved)."""
        if not settings.LEVELUP.get("GRAPHQL_COMPILED", True):
            return None
        if request.headers.get(PATH_HEADER, "").strip().lower() == "resolved":
            return None
        if self.get_middleware(request) or self.execution_context_class:  # they must see every field
            return None
        return compiler_for(self.schema)

    def execute_graphql_request(self, request, data, query, variables, operation_name, show_graphiql=False):
        """graphene-django's steps, with the limits: the document's size is checked before it is
        parsed, and it is parsed and validated once (and kept, checked_document), before any
        database is touched. Then the whole query reads from one database (a replica when one is
        healthy), in one transaction there, so the statement timeout is SET LOCAL and ends with the
        request; a query whose every field has declared SQL is answered there by one statement
        (levelup_api/core/graphql_sql.py), anything else by graphql-core. If the replica fails under
        the query, the query is answered again from the primary."""
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseBadRequest("Must provide query string."))
        request.levelup_graphql_path = "resolved"
        key, document, errors = checked_document(query, self.schema.graphql_schema, self.validation_rules)
        if document is None:
            return ExecutionResult(errors=errors)
        operation = get_operation_ast(document, operation_name)
        if request.method.lower() == "get" and operation is not None and operation.operation != OperationType.QUERY:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseNotAllowed(
                ["POST"], f"Can only perform a {operation.operation.value} operation from a POST request."))
        if errors:
            return ExecutionResult(errors=errors)

        read = operation is None or operation.operation == OperationType.QUERY
        # GraphQL compiled to SQL (levelup_api/core/graphql_sql.py) when every field of the query has
        # declared SQL; under the same replica choice, transaction and statement timeout as below.
        compiler = self.compiler(request) if read and operation is not None and key is not None else None
        compiled = (compiler, key, operation) if compiler is not None else None
        alias = replicas.read_alias() if read else "default"
        if alias != "default":
            try:
                result = self._execute_on(alias, request, document, variables, operation_name, compiled)
            except DatabaseError as exc:
                if not replicas.lost_replica(exc):
                    raise
                result = None
            if result is not None and not any(replicas.lost_replica(getattr(e, "original_error", e))
                                              for e in result.errors or ()):
                return result
            replicas.mark_down(alias)
        return self._execute_on("default", request, document, variables, operation_name, compiled)

    def _execute_on(self, alias, request, document, variables, operation_name, compiled=None) -> ExecutionResult:
        try:
            return self._execute_in_transaction(alias, request, document, variables, operation_name, compiled)
        except _HandOver:
            # The compiled statement stopped (and its transaction rolled back): graphql-core answers.
            return self._execute_in_transaction(alias, request, document, variables, operation_name, None)

    def _compiled(self, compiled, operation_name, variables) -> bytes | None:
        """The `data` object's JSON from the compiled statement, or None when graphql-core answers
        instead (the document or its arguments are not compiled); _HandOver when the statement
        stopped."""
        compiler, key, operation = compiled
        statement, stale = None, True
        try:
            statement = compiler.prepare(key, operation, operation_name, variables)
            if statement is None:
                return None
            return compiler.execute(replicas.read_connection(), statement)
        except DatabaseError as exc:
            if replicas.lost_replica(exc):
                raise  # the replica went away: answered again from the primary, as below
            reason = handed_over(exc)
            if reason is None:
                logger.warning("compiled GraphQL statement failed; graphql-core answers", exc_info=exc)
            else:  # what graphql-core must answer (its error): the bindings still hold, unless they changed
                logger.debug("compiled GraphQL handed over: %s", reason)
                stale = STALE in reason
        except Exception:
            # A bug here must not cost the client its answer: graphql-core gives it, and the log says why.
            logger.exception("compiling a GraphQL query failed; graphql-core answers")
        if statement is not None and stale:
            compiler.forget(statement)
        raise _HandOver

    def _execute_in_transaction(self, alias, request, document, variables, operation_name, compiled):
        # A compiled statement is prepared, and planning it costs about as much as running it: its
        # generic plan is made once per connection and kept (set in the same statement as the
        # timeout, so it costs no round trip).
        generic = ", set_config('plan_cache_mode', 'force_generic_plan', true)" if compiled is not None else ""
        with contextlib.ExitStack() as stack:
            stack.enter_context(replicas.reading_from(alias))
            for using in dict.fromkeys((alias, "default")):  # raw SQL in resolvers runs on the primary
                stack.enter_context(transaction.atomic(using=using))
                with connections[using].cursor() as cursor:
                    cursor.execute(f"SELECT set_config('statement_timeout', %s, true){generic}",
                                   [str(settings.LEVELUP["GRAPHQL_STATEMENT_TIMEOUT_MS"])])
            if compiled is not None:
                body = self._compiled(compiled, operation_name, variables)
                if body is not None:
                    request.levelup_graphql_path = "compiled"
                    return ExecutionResult(data=RawData(body))
            request.levelup_graphql_path = "resolved"
            options = {}
            if self.execution_context_class:
                options["execution_context_class"] = self.execution_context_class
            try:
                result = execute(self.schema.graphql_schema, document, root_value=self.get_root_value(request),
                                 context_value=self.get_context(request), variable_values=variables,
                                 operation_name=operation_name, middleware=self.get_middleware(request), **options)
            except Exception as exc:  # as graphene-django: an error of the request, answered as such
                return ExecutionResult(errors=[exc])
            if any(isinstance(getattr(e, "original_error", None), DatabaseError) for e in result.errors or ()):
                # graphql-core caught a failed statement (a timeout, say) as a field error: the
                # transaction is aborted, so it ends in a rollback, not in a commit that would fail.
                for using in dict.fromkeys((alias, "default")):
                    transaction.set_rollback(True, using=using)
            return result

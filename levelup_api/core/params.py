"""The one parameter layer: every query parameter of every REST view (and the GraphQL fields that
share them) is declared once, as a field of a django-filter FilterSet deriving from `Params`, and
parsed, validated and described in OpenAPI from that declaration.

- `ParameterError` is the one error for a parameter that cannot be used. REST turns it into a 400
  (levelup_api.core.errors.exception_handler), GraphQL into an error naming the argument
  (levelup_api.core.graphql).
- `params_parse()` refuses unknown parameters (naming the closest accepted one) and repeated ones,
  maps deprecated spellings to their one name, and validates every value: numbers are ASCII
  digits only, booleans are true/false, dates are YYYY-MM-DD.
- `openapi_parameters()` is what the OpenAPI document shows; levelup_api.core.rest.ParamsMixin
  applies a declaration to a DRF view.

Concepts that need a model (an area type, a vintage, an indicator) are declared with the fields
here by the app that owns the model (geographies.filters, indicators.filters), so this module
imports none of the apps.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass, field

import django_filters as filters
from django import forms
from django.http import QueryDict

# The day the old spellings were deprecated (RFC 9745 `Deprecation: @<epoch seconds>`).
DEPRECATED_ON = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


# -- the error ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    parameter: str | None
    message: str
    extra: dict = field(default_factory=dict)


class ParameterError(ValueError):
    """One or more parameters that cannot be used. `parameter` and `message` are the first one's;
    `problems` lists them all."""

    def __init__(self, parameter: str | None, message: str, *, problems: list[Problem] | None = None):
        super().__init__(message)
        self.parameter, self.message = parameter, message
        self.problems = problems or [Problem(parameter, message)]

    @classmethod
    def many(cls, problems: list[Problem]) -> ParameterError:
        first = problems[0]
        return cls(first.parameter, first.message, problems=problems)

    def as_dicts(self) -> list[dict]:
        return [{"parameter": p.parameter, "message": p.message, **p.extra} for p in self.problems]


# -- form fields: strict parsing of one value -----------------------------------------------------
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}


class AsciiIntegerField(forms.IntegerField):
    """A whole number in ASCII digits: `int()` would also take '٣' and Python's own digit
    characters, which no client means."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _INT.fullmatch(text):
            raise forms.ValidationError(f"must be a whole number (ASCII digits), got {text!r}", code="invalid")
        return int(text)

    def validate(self, value):
        super().validate(value)

    def run_validators(self, value):
        if value is None:
            return
        if self.min_value is not None and value < self.min_value:
            raise forms.ValidationError(f"must be at least {self.min_value}, got {value}", code="min_value")
        if self.max_value is not None and value > self.max_value:
            raise forms.ValidationError(f"must be at most {self.max_value}, got {value}", code="max_value")


class AsciiNumberField(forms.FloatField):
    """A finite decimal number in ASCII (no 'nan', 'inf', no non-ASCII digits)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _FLOAT.fullmatch(text) or not math.isfinite(float(text)):
            raise forms.ValidationError(f"must be a number, got {text!r}", code="invalid")
        return float(text)

    def run_validators(self, value):
        if value is None:
            return
        low, high = self.min_value, self.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            raise forms.ValidationError(f"must be between {low} and {high}, got {value:g}", code="range")


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0, yes/no, on/off); anything else is an error, never silently None."""

    widget = forms.TextInput  # NullBooleanSelect would turn 'maybe' into None before to_python

    def to_python(self, value):
        if value in (True, False):
            return value
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise forms.ValidationError(f"must be true or false, got {value!r}", code="invalid")

    def validate(self, value):
        pass


class StrictDateField(forms.DateField):
    """YYYY-MM-DD only (Django's DateField also takes locale formats such as 10/25/06)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError
            return dt.date.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(f"must be a date YYYY-MM-DD, got {text!r}", code="invalid") from None


class ListField(forms.CharField):
    """Comma-separated values, stripped, empties dropped; `upper` for codes."""

    def __init__(self, *args, upper: bool = False, max_items: int = 1000, **kwargs):
        self.upper, self.max_items = upper, max_items
        super().__init__(*args, **kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return []
        items = [v.strip() for v in text.split(",") if v.strip()]
        if len(items) > self.max_items:
            raise forms.ValidationError(f"at most {self.max_items} comma-separated values, got {len(items)}")
        return [v.upper() for v in items] if self.upper else items


class StrictChoiceField(forms.ChoiceField):
    default_error_messages = {"invalid_choice": "must be one of %(choices)s, got %(value)r"}

    def validate(self, value):
        try:
            super().validate(value)
        except forms.ValidationError as exc:
            if exc.code == "invalid_choice":
                choices = ", ".join(str(k) for k, _ in self.choices if k != "")
                raise forms.ValidationError(self.error_messages["invalid_choice"],
                                            code="invalid_choice", params={"choices": choices, "value": value}) from None
            raise


# -- filters: the declarations --------------------------------------------------------------------
class _Param:
    """Parameters are read from the cleaned data by selectors, not applied by django-filter one
    by one; a declaration can still name a `method` to filter with (django-filter then replaces
    this `filter` with that method)."""

    def filter(self, qs, value):
        return qs


class IntegerParam(_Param, filters.NumberFilter):
    field_class = AsciiIntegerField


class NumberParam(_Param, filters.NumberFilter):
    field_class = AsciiNumberField


class BooleanParam(_Param, filters.BooleanFilter):
    field_class = StrictBooleanField


class DateParam(_Param, filters.DateFilter):
    field_class = StrictDateField


class StringParam(_Param, filters.CharFilter):
    pass


class ListParam(_Param, filters.CharFilter):
    field_class = ListField


class ChoiceParam(_Param, filters.Filter):
    field_class = StrictChoiceField


def page_size_param(*, default: int, maximum: int) -> IntegerParam:
    return IntegerParam(min_value=1, max_value=maximum,
                        help_text=f"Rows per page (default {default:,}, at most {maximum:,}).")


def page_param() -> IntegerParam:
    return IntegerParam(min_value=1, help_text="Page number, from 1.")


def cursor_param() -> StringParam:
    return StringParam(help_text="The cursor from the previous page's `next` link (opaque).")


def format_param(formats: list[str]) -> ChoiceParam:
    return ChoiceParam(choices=[(f, f) for f in formats],
                       help_text=f"Response format ({', '.join(formats)}); the Accept header works as well.")


class _Nothing:
    """What a model-less declaration filters (django-filter wants a queryset with a `model`)."""

    model = None


_NOTHING = _Nothing()


class Params(filters.FilterSet):
    """Base of every declaration. `deprecated_aliases` maps an old spelling to the one name; the old
    spelling still works, answered with a `Deprecation` header."""

    deprecated_aliases: dict[str, str] = {}

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # A declaration with no model filters nothing itself: its values go to selectors.
        if queryset is None and self._meta.model is None:
            queryset = _NOTHING
        super().__init__(data, queryset, request=request, prefix=prefix)
        for name, f in self.filters.items():
            if f._label is None:  # django-filter would look the label up on the model
                f.label = name
        self.deprecated: list[tuple[str, str]] = []

    @property
    def cleaned(self) -> dict:
        return self.form.cleaned_data

    def problems(self) -> list[Problem]:
        out = []
        for name, errors in self.form.errors.as_data().items():
            for error in errors:
                message = "is required" if error.code == "required" else " ".join(error.messages)
                out.append(Problem(None if name == "__all__" else name, message))
        return out


class NoParams(Params):
    """For endpoints that take no query parameters: anything sent is refused, never ignored."""


def unknown_problem(name: str, accepted: list[str]) -> Problem:
    close = difflib.get_close_matches(name.lower(), accepted, n=1, cutoff=0.6)
    hint = f'; did you mean "{close[0]}"?' if close else "."
    listed = ", ".join(accepted) if accepted else "none"
    return Problem(name, f"unknown parameter{hint} This endpoint accepts: {listed}.",
                   {"accepted": accepted, **({"suggestion": close[0]} if close else {})})


def params_parse(params_class: type[Params], data: QueryDict | dict, *, queryset=None, request=None,
                 ignore: tuple[str, ...] = ()) -> Params:
    """The declaration bound to `data` and validated; every problem at once as a ParameterError.
    `ignore` names parameters something else reads (none today but DRF's `format`)."""
    known = list(params_class.base_filters)
    aliases = params_class.deprecated_aliases
    accepted = sorted(set(known) | set(ignore))
    problems: list[Problem] = []
    clean = QueryDict(mutable=True)
    deprecated: list[tuple[str, str]] = []
    items = data.lists() if isinstance(data, QueryDict) else ((k, v if isinstance(v, list) else [v]) for k, v in data.items())
    for key, values in items:
        name = key
        if key in aliases:
            name = aliases[key]
            deprecated.append((key, name))
            if name in data:
                problems.append(Problem(key, f'"{key}" is the old name of "{name}": give one of them'))
                continue
        elif key in ignore:
            continue
        elif key not in params_class.base_filters:
            problems.append(unknown_problem(key, accepted))
            continue
        if len(values) > 1:
            problems.append(Problem(key, "given more than once; give it once (comma-separated where it takes a list)"))
            continue
        clean.setlist(name, values)
    if problems:
        raise ParameterError.many(problems)
    bound = params_class(clean, queryset=queryset, request=request)
    if not bound.is_valid():
        raise ParameterError.many(bound.problems())
    bound.deprecated = deprecated
    return bound


# -- OpenAPI ------------------------------------------------------------------------------------------
def _schema(f: filters.Filter) -> dict:
    formfield = f.field_class
    extra = f.extra
    if issubclass(formfield, AsciiIntegerField):
        schema = {"type": "integer"}
    elif issubclass(formfield, AsciiNumberField):
        schema = {"type": "number"}
    elif issubclass(formfield, StrictBooleanField):
        schema = {"type": "boolean"}
    elif issubclass(formfield, StrictDateField):
        schema = {"type": "string", "format": "date"}
    elif issubclass(formfield, forms.ChoiceField) and not issubclass(formfield, forms.ModelChoiceField):
        schema = {"type": "string", "enum": [k for k, _ in extra.get("choices", []) if k != ""]}
    else:
        schema = {"type": "string"}
    for key, name in (("min_value", "minimum"), ("max_value", "maximum")):
        if extra.get(key) is not None:
            schema[name] = extra[key]
    if getattr(f, "openapi_pattern", None):
        schema["pattern"] = f.openapi_pattern
    return schema


def openapi_parameters(params_class: type[Params]):
    """drf-spectacular parameters from a declaration, deprecated spellings marked as such."""
    from drf_spectacular.utils import OpenApiParameter

    out = []
    for name, f in params_class.base_filters.items():
        required, schema = bool(f.extra.get("required")), _schema(f)
        # Values are stripped and an empty one counts as left out: a required one needs a character
        # other than white space.
        if required and schema["type"] == "string" and "pattern" not in schema:
            schema["pattern"] = r"\S"
        out.append(OpenApiParameter(name, schema, OpenApiParameter.QUERY, required=required,
                                    allow_blank=not required, description=str(f.extra.get("help_text", ""))))
    for old, new in params_class.deprecated_aliases.items():
        f = params_class.base_filters[new]
        out.append(OpenApiParameter(old, _schema(f), OpenApiParameter.QUERY, deprecated=True,
                                    description=f"Deprecated spelling of `{new}`; answered with a `Deprecation` header."))
    return out

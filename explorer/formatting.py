"""Numbers as the API serves them. A page shows the very digits of the JSON (orjson writes the
shortest text that reads back as the float; Python's repr is the same digits), grouped in
thousands, never rounded again: what a reader copies from a page is what a client reads."""

from __future__ import annotations

from decimal import Decimal


def served(value: float | int | None) -> str:
    """539.9 -> '539.9', 26501.81 -> '26,501.81', 100.0 -> '100', 1e-05 -> '0.00001', None -> ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("a number, not a bool")
    text = format(Decimal(repr(value)), "f") if isinstance(value, float) else str(int(value))
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{sign}{int(whole):,}" + (f".{fraction}" if fraction else "")


def served_raw(value: float | int | None) -> str:
    """The number for a data- attribute: repr, as JSON has it (parseFloat gives the same float)."""
    return "" if value is None else repr(value)

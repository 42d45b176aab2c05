"""Explaining a refused scenario or sweep file: one line per problem, naming the field,
what was wrong and what was got, and for a misspelt key or name the nearest right one."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'balance_median'?)"``, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's annotation holds: X, X | None, list[X], dict[str, X]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return []
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def keys_at(model: type[BaseModel], loc: Sequence[int | str]) -> set[str]:
    """The keys a file may have at ``loc`` (the path of an unknown key, without the key)."""
    here: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            continue  # a list item: the same model
        inner = [
            m
            for current in here
            if part in current.model_fields
            for m in _models_in(current.model_fields[part].annotation)
        ]
        # a dict of models (population.banks.SBI): the key is a name, not a field
        here = inner or here
    return {field.alias or name for current in here for name, field in current.model_fields.items()}


def format_errors(
    source: str, error: ValidationError, model: type[BaseModel], what: str = "scenario"
) -> str:
    """Every problem pydantic found in ``source`` (a ``model`` file), one line each."""
    lines = [f"{source}: the {what} has {error.error_count()} problem(s):"]
    for err in error.errors():
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            *where, key = err["loc"]
            hint = did_you_mean(str(key), keys_at(model, where))
            msg = f"unknown key{hint} (check the spelling; see docs/scenarios.md for the keys)"
        got = err.get("input")
        shown = "" if err["type"] in ("missing",) or isinstance(got, dict) else f" (got {got!r})"
        if len(shown) > 80:  # a pasted blob: enough of it to recognise
            shown = f"{shown[:70]}…)"
        lines.append(f"  - {loc}: {msg}{shown}")
    return "\n".join(lines)

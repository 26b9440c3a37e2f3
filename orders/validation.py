"""Billbee's values checked against the mirror's columns before anything is stored.

PostgreSQL refuses a value that does not fit its column (and, inside one transaction, every
other order with it); SQLite stores it and fails when it is read back. So the sync checks each
order here first, the same way on every database, against the limits the models declare
(``max_length``, the integer columns' ranges, ``max_digits``/``decimal_places``) plus the few
rules the columns cannot say: ISO 4217 currencies and dates within years 2000 to 2100 in UTC.

Two kinds of repair are made instead of refusing: NUL bytes (which PostgreSQL refuses in any
text) are removed and unpaired UTF-16 surrogates (which no database can encode) are replaced,
everywhere in the order including its raw document; free text such as an item title is cut to
its column, as the exact text stays in the raw document. An identifier that does not fit (an
order number, a customer number, an e-mail address) is refused rather than cut, because a cut
one would be booked under, or matched with, something else.
"""

import math
import re
from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.text import capfirst
from django.utils.translation import gettext as _

FIRST_YEAR, LAST_YEAR = 2000, 2100
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
END = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)  # exclusive
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# Django reads SQLite's decimals as floats of 15 significant digits, then rounds them to the
# column; a value that this rounding carries past the column cannot be read back.
SQLITE_DIGITS = 15
UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
SHOWN_CHARACTERS = 40  # of a refused value, in the merchant's message

# The same ranges on every database, so SQLite refuses what PostgreSQL would.
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges


# --- Repairs --------------------------------------------------------------------------------


def text_cleaned(text: str) -> str:
    """Text any database can store: no NUL, no unpaired surrogate."""
    return UNPAIRED_SURROGATE.sub("\ufffd", text.replace("\x00", ""))


_PLAIN = frozenset({int, bool, Decimal, datetime, type(None)})  # nothing to clean inside


def _unstorable(value: Any) -> bool:
    if type(value) in _PLAIN:  # most values of an order: answered without the checks below
        return False
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(entry) for key, entry in value.items())
    if isinstance(value, list | tuple):
        return any(map(_unstorable, value))
    if isinstance(value, float):
        return not math.isfinite(value)
    if is_dataclass(value) and not isinstance(value, type):
        return any(map(_unstorable, vars(value).values()))
    return False


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return text_cleaned(value)
    if isinstance(value, dict):
        return {_cleaned(key): _cleaned(entry) for key, entry in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_cleaned(entry) for entry in value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _cleaned(getattr(value, f.name)) for f in fields(value)})
    return value


def cleaned(value: Any) -> Any:
    """``value`` with every text in it cleaned: dataclasses, dicts (keys too), lists, tuples.

    A non-finite float (JSON's ``NaN``) becomes text, as ``jsonb`` has no place for it. Almost
    every order needs nothing, so it is looked through first and rebuilt only when it must be.
    """
    return _cleaned(value) if _unstorable(value) else value


def text_fitted(model: type[models.Model], name: str, text: str | None) -> str:
    """Free text cut to its column (the full text stays in the order's raw document)."""
    return (text or "")[: model._meta.get_field(name).max_length]


def decimal_rounded(value: Decimal, decimal_places: int) -> Decimal:
    """Rounded half up to the column's places; a value too large to round is left as it is
    (and then refused by ``instance_problems``)."""
    try:
        return value.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return value


# --- Checks ---------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def _label(field: models.Field) -> str:
    return capfirst(str(field.verbose_name))


def _text_problem(field: models.CharField, value: str) -> str | None:
    if field.max_length is None or len(value or "") <= field.max_length:
        return None
    return _("%(field)s longer than %(limit)s characters") % {
        "field": _label(field),
        "limit": field.max_length,
    }


def _integer_problem(field: models.IntegerField, value: int | None) -> str | None:
    low, high = INTEGER_RANGES.get(field.get_internal_type(), (None, None))
    if value is None or low is None or low <= value <= high:
        return None
    return _("%(field)s %(value)s outside the range %(low)s to %(high)s") % {
        "field": _label(field),
        "value": _shown(value),
        "low": low,
        "high": high,
    }


def decimal_fits(value: Decimal, field: models.DecimalField) -> bool:
    """Whether ``value`` (already rounded to the column's places) is stored and read back."""
    limit = Decimal(10) ** (field.max_digits - field.decimal_places)
    if not value.is_finite() or value.copy_abs() >= limit:
        return False
    if field.max_digits <= SQLITE_DIGITS:
        return True
    as_read = Context(prec=SQLITE_DIGITS).create_decimal_from_float(float(value))
    return as_read.copy_abs() < limit


def _decimal_problem(field: models.DecimalField, value: Decimal | int | None) -> str | None:
    if value is None or decimal_fits(Decimal(value), field):
        return None
    return _("%(field)s %(value)s has more than %(digits)s digits before the decimal point") % {
        "field": _label(field),
        "value": _shown(value),
        "digits": field.max_digits - field.decimal_places,
    }


def _moment_problem(field: models.DateTimeField, value: datetime | None) -> str | None:
    if value is None:
        return None
    try:
        in_range = EARLIEST <= value.astimezone(UTC) < END
    except (OverflowError, ValueError):  # e.g. 9999-12-31T23:30-05:00 is after year 9999 in UTC
        in_range = False
    if in_range:
        return None
    return _("%(field)s %(value)s is outside the years %(first)s to %(last)s") % {
        "field": _label(field),
        "value": _shown(value),
        "first": FIRST_YEAR,
        "last": LAST_YEAR,
    }


Check = Callable[[Any, Any], str | None]


def _check_for(field: models.Field) -> Check | None:
    if isinstance(field, models.CharField):
        return _text_problem
    if isinstance(field, models.IntegerField):
        return _integer_problem
    if isinstance(field, models.DecimalField):
        return _decimal_problem
    if isinstance(field, models.DateTimeField):
        return _moment_problem
    return None  # booleans, JSON: cleaned already, no limits of their own


def field_problem(field: models.Field, value: Any) -> str | None:
    """Why ``value`` cannot go into ``field`` and come back, or None if it can."""
    check = _check_for(field)
    return check(field, value) if check else None


_CHECKS: dict[type[models.Model], list[tuple[models.Field, Check]]] = {}


def _checks_of(model: type[models.Model]) -> list[tuple[models.Field, Check]]:
    if model not in _CHECKS:  # once per model: a page of 250 orders checks thousands of values
        _CHECKS[model] = [
            (field, check)
            for field in model._meta.concrete_fields
            if not (field.primary_key or field.is_relation)
            and (check := _check_for(field)) is not None
        ]
    return _CHECKS[model]


def instance_problems(instance: models.Model, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Every value of an unsaved row that its columns would refuse or not give back."""
    problems = []
    for field, check in _checks_of(type(instance)):
        if field.name not in skip:
            problem = check(field, getattr(instance, field.attname))
            if problem:
                problems.append(problem)
    return problems


def currency_problem(currency: str) -> str | None:
    if CURRENCY_CODE.fullmatch(currency or ""):
        return None
    return _("Currency “%(value)s” is not an ISO 4217 code (three capital letters)") % {
        "value": _shown(currency)
    }


def item_problems(position: int, problems: list[str]) -> list[str]:
    return [
        _("item %(position)s: %(problem)s") % {"position": position, "problem": problem}
        for problem in problems
    ]


def payment_problems(position: int, problems: list[str]) -> list[str]:
    return [
        _("payment %(position)s: %(problem)s") % {"position": position, "problem": problem}
        for problem in problems
    ]

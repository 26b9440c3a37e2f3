"""Reading request values the way sevDesk does: lenient where sevDesk is (numbers as strings,
several date formats), strict where it rejects (missing or mistyped required fields)."""

import json
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest

from .errors import BadRequest

# sevDesk keeps calendar days in German time: an instant names the day it is in Berlin.
SEVDESK_TIME_ZONE = ZoneInfo("Europe/Berlin")
CENT = Decimal("0.01")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_TIMESTAMP = re.compile(r"^\d{9,11}$")
# ASCII digits only: for str.isdigit "²" and Arabic-Indic digits are digits, for int() not all.
_INTEGER = re.compile(r"^-?[0-9]+$")
# The largest integer any of our databases stores; beyond it sevDesk answers 400, never 500.
MAX_INTEGER = 2**63 - 1


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The JSON object in the request body (sevDesk also takes form-encoded; we need JSON)."""
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("Request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    return data


def required(data: dict[str, Any], key: str, *, where: str = "") -> Any:
    if data.get(key) is None:
        raise BadRequest(f"Required field {where}{key} is missing")
    return data[key]


def reference_id(value: Any, object_name: str, *, field: str) -> int:
    """The id of a nested ``{"id": ..., "objectName": ...}`` object, as an integer."""
    if not isinstance(value, dict) or "id" not in value:
        raise BadRequest(f"{field} must be an object with id and objectName")
    if value.get("objectName") not in (None, object_name):
        raise BadRequest(f"{field}.objectName must be {object_name}")
    return integer(value["id"], field=f"{field}.id")


def integer(value: Any, *, field: str) -> int:
    """An integer, also from a numeric string ("42"), never from a bool or a fraction."""
    if isinstance(value, bool):
        raise BadRequest(f"{field} must be an integer")
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        value = int(value)
    if not isinstance(value, int):
        raise BadRequest(f"{field} must be an integer")
    if abs(value) > MAX_INTEGER:
        raise BadRequest(f"{field} is out of range")
    return value


def decimal(value: Any, *, field: str) -> Decimal:
    """A number (or numeric string) as Decimal; floats go through str() to keep 119.99 exact."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest(f"{field} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise BadRequest(f"{field} must be a number") from exc
    if not number.is_finite():
        raise BadRequest(f"{field} must be a number")
    return number


def money(value: Any, *, field: str) -> Decimal:
    return decimal(value, field=field).quantize(CENT, rounding=ROUND_HALF_UP)


def boolean(value: Any, *, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1", "true", "false"):
        return value in (1, "1", "true")
    raise BadRequest(f"{field} must be a boolean")


def calendar_date(value: Any, *, field: str) -> date:
    """A day from any form sevDesk accepts: ISO date or date-time, dd.mm.yyyy, unix time."""
    if isinstance(value, bool):
        raise BadRequest(f"{field} is not a valid date")
    if isinstance(value, int | float) or (isinstance(value, str) and _TIMESTAMP.match(value)):
        return datetime.fromtimestamp(float(value), tz=SEVDESK_TIME_ZONE).date()
    if not isinstance(value, str):
        raise BadRequest(f"{field} is not a valid date")
    if match := _GERMAN_DATE.match(value.strip()):
        day, month, year = (int(part) for part in match.groups())
        return _checked_date(year, month, day, field=field)
    return _iso_day(value.strip(), field=field)


def _iso_day(value: str, *, field: str) -> date:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{field} is not a valid date") from exc
    if len(value) == 10:  # a bare date names the day itself
        return moment.date()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SEVDESK_TIME_ZONE)
    return moment.astimezone(SEVDESK_TIME_ZONE).date()


def _checked_date(year: int, month: int, day: int, *, field: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise BadRequest(f"{field} is not a valid date") from exc


def optional_date(data: dict[str, Any], key: str) -> date | None:
    value = data.get(key)
    return None if value in (None, "") else calendar_date(value, field=key)


def query_int(
    request: HttpRequest, key: str, *, minimum: int = 0, maximum: int = MAX_INTEGER
) -> int | None:
    """An integer query parameter, or None when absent; sevDesk answers 400 on garbage."""
    value = request.GET.get(key)
    if value in (None, ""):
        return None
    number = integer(value, field=key)
    if number < minimum:
        raise BadRequest(f"{key} must be at least {minimum}")
    if number > maximum:
        raise BadRequest(f"{key} must be at most {maximum}")
    return number

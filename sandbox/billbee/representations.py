"""How the simulated Billbee writes its answers: JSON as Billbee's .NET serializer does.

Money is kept as decimal strings in the stored documents and written as JSON numbers with
every digit (``846.1929411764705882352941177``); timestamps are UTC without an offset and
with milliseconds (``2023-04-22T14:56:23.843``), as the real API sends them.
"""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# Fields of an order document that are numbers in Billbee's JSON but stored as strings here.
NUMERIC_KEYS = frozenset(
    {
        "TotalCost",
        "ShippingCost",
        "AdjustmentCost",
        "PaidAmount",
        "TaxRate1",
        "TaxRate2",
        "Quantity",
        "TotalPrice",
        "TaxAmount",
        "Discount",
        "UnrebatedTotalPrice",
        "PayValue",
        "TotalGross",
        "TotalNet",
    }
)

_DECIMAL_MARK = "\u2063decimal:"
_MARKED = re.compile(f'"{_DECIMAL_MARK}(-?[0-9]+(?:\\.[0-9]+)?(?:E[+-]?[0-9]+)?)"')


def billbee_timestamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def to_milliseconds(moment: datetime) -> datetime:
    """Billbee's timestamps carry milliseconds; stored ones must not be finer than they are
    written, or a cursor taken from an answer would miss or repeat orders."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse_billbee_timestamp(text: str) -> datetime:
    """A query timestamp; without offset it is UTC, like the ones we send."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def money(value: Decimal) -> str:
    """How a stored document holds an amount: the exact decimal as text."""
    return str(value)


def with_numbers(document: Any) -> Any:
    """A copy of a stored document with its money strings turned back into Decimals."""
    if isinstance(document, dict):
        return {
            key: Decimal(value)
            if key in NUMERIC_KEYS and isinstance(value, str)
            else with_numbers(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [with_numbers(entry) for entry in document]
    return document


def billbee_dumps(payload: Any) -> str:
    """JSON text in which Decimals are exact numbers rather than floats or strings."""
    text = json.dumps(payload, default=_mark_decimal, ensure_ascii=False)
    return _MARKED.sub(r"\1", text)


def _mark_decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{_DECIMAL_MARK}{value}"
    raise TypeError(f"{type(value).__name__} is not JSON serializable")

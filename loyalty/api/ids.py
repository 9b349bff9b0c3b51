"""Ids and moments as the API takes them: inside what the database columns can hold.

One type per column width, used alike for path parameters, query parameters and body
fields: an id no row can have is refused as a 422 naming the parameter, instead of reaching
the database (where PostgreSQL would fail on an integer out of range). Moments carry their
UTC offset and lie in years every conversion and column can hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

INT_MAX = 2**31 - 1  # INTEGER keys: segments, campaigns, stores, custom fields
BIGINT_MAX = 2**63 - 1  # BIGINT keys: customers, purchases, runs, history entries

Id = Annotated[int, Ge(1), Le(INT_MAX)]
BigId = Annotated[int, Ge(1), Le(BIGINT_MAX)]
# A cursor "after this id" may start at 0.
BigCursor = Annotated[int, Ge(0), Le(BIGINT_MAX)]

EARLIEST = datetime(1970, 1, 2)
LATEST = datetime(2999, 12, 30)


def _within_years(value: datetime) -> datetime:
    # Compared on the wall clock: converting year 1 or 9999 to UTC would itself overflow.
    if not EARLIEST <= value.replace(tzinfo=None) <= LATEST:
        raise PydanticCustomError(
            "moment_out_of_range",
            "the time must lie between {earliest} and {latest}",
            {"earliest": EARLIEST.date().isoformat(), "latest": LATEST.date().isoformat()},
        )
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_within_years)]

"""Today's date and time, for decisions that depend on it (support windows, QA expiries).

`SOURCE_DATE_EPOCH` (seconds since 1970, the reproducible-builds convention) pins it, so a plan made
for a given day is the same on every machine and tests can say which day it is.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime


def today() -> date:
    return now().date()


def now() -> datetime:
    pinned = os.environ.get("SOURCE_DATE_EPOCH")
    if pinned is None:
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(int(pinned), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"SOURCE_DATE_EPOCH={pinned!r} is not a number of seconds since 1970-01-01") from None

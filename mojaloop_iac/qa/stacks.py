"""QA stacks as the state backend sees them: their tags, which are QA, which expired (pure).

Every QA stack carries these stack tags (`mojactl qa up` sets them before the first resource exists):

| Tag | Value |
|---|---|
| `mojaloop:qa` | `true`: only stacks with it are ever listed, reaped or destroyed by `mojactl qa` |
| `mojaloop:qa-id` | the QA ID (`pr-123`) |
| `mojaloop:template` | the stack it was derived from |
| `mojaloop:expires-at` | when the reaper may destroy it (UTC, ISO 8601) |
| `mojaloop:source` | the change under test (MR/PR URL), when known |
| `mojaloop:host-slot` | the bare-metal host-pool slot it occupies, if any |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

QA_TAG: Final = "mojaloop:qa"
ID_TAG: Final = "mojaloop:qa-id"
TEMPLATE_TAG: Final = "mojaloop:template"
EXPIRES_TAG: Final = "mojaloop:expires-at"
SOURCE_TAG: Final = "mojaloop:source"
HOST_SLOT_TAG: Final = "mojaloop:host-slot"
# Pulumi refuses longer tag values.
MAX_TAG_VALUE: Final = 256


@dataclass(frozen=True)
class StackInfo:
    name: str
    tags: Mapping[str, str]

    @property
    def is_qa(self) -> bool:
        return self.tags.get(QA_TAG) == "true"

    @property
    def qa_id(self) -> str | None:
        return self.tags.get(ID_TAG)


def qa_tags(
    qa_id: str, template: str, expires_at: datetime, source: str | None, host_slot: str | None
) -> dict[str, str]:
    tags = {QA_TAG: "true", ID_TAG: qa_id, TEMPLATE_TAG: template, EXPIRES_TAG: _iso(expires_at)}
    if source:
        tags[SOURCE_TAG] = source[:MAX_TAG_VALUE]
    if host_slot:
        tags[HOST_SLOT_TAG] = host_slot
    return tags


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment.utcoffset() is not None else moment.isoformat()


def parse_expiry(value: str | None) -> datetime | None:
    """The tag's time, or None when it is missing or not an aware ISO 8601 time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


@dataclass(frozen=True)
class ReapDecision:
    destroy: tuple[StackInfo, ...]
    kept: tuple[tuple[str, str], ...]
    """(stack, why it stays): QA stacks not expired yet, or whose expiry cannot be read."""


def reap_selection(stacks: Iterable[StackInfo], now: datetime) -> ReapDecision:
    """The QA stacks past their expiry. A stack without the QA tag is never considered, not even listed;
    a QA stack whose expiry is missing or unreadable is kept (and said so): the reaper never guesses."""
    destroy, kept = [], []
    for stack in sorted(stacks, key=lambda s: s.name):
        if not stack.is_qa:
            continue
        expires = parse_expiry(stack.tags.get(EXPIRES_TAG))
        if expires is None:
            kept.append((stack.name, f"its {EXPIRES_TAG} tag is missing or not a time: destroy it by hand"))
        elif expires <= now:
            destroy.append(stack)
        else:
            kept.append((stack.name, f"expires at {_iso(expires)}"))
    return ReapDecision(tuple(destroy), tuple(kept))


def stacks_with_id(stacks: Iterable[StackInfo], qa_id: str) -> list[StackInfo]:
    return sorted((s for s in stacks if s.is_qa and s.qa_id == qa_id), key=lambda s: s.name)


def slot_taken_by(stacks: Sequence[StackInfo], slot: str, stack: str) -> str | None:
    """Another live QA stack on the same host-pool slot, if any."""
    for other in stacks:
        if other.is_qa and other.name != stack and other.tags.get(HOST_SLOT_TAG) == slot:
            return other.name
    return None

"""One vocabulary for send failures, whatever the platform said."""

from __future__ import annotations

from enum import StrEnum


class FailureKind(StrEnum):
    UNREACHABLE = "unreachable"  # blocked, unsubscribed, deactivated: do not retry
    RATE_LIMITED = "rate_limited"  # retry after the given delay
    TRANSIENT = "transient"  # network trouble or a 5xx: retry with backoff
    PERMANENT = "permanent"  # a bad request of ours: retrying will not help


class DeliveryError(Exception):
    def __init__(
        self, kind: FailureKind, detail: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(f"{kind.value}: {detail}")
        self.kind = kind
        self.detail = detail
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in {FailureKind.RATE_LIMITED, FailureKind.TRANSIENT}

"""What the control-character check costs a till: InputHygiene around a bare ASGI app.

The till's purchase (20 lines) and the card scan go through the middleware and through the
bare app; the difference is the check's cost per request, set beside the cost of the
json.loads FastAPI does anyway for the same body. Run:
    .venv/bin/python bench/input_hygiene.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from loyalty.input_hygiene import InputHygiene

ROUNDS = 7
REQUESTS = 5_000

PURCHASE = json.dumps(
    {
        "receipt_id": "R-000123",
        "purchased_at": "2026-11-22T10:15:00+02:00",
        "card": "2710 0000 1234 5",
        "lines": [
            {
                "sku": f"SKU-{i:05d}",
                "name": f"Молоко 2,5% {i}",
                "category_path": ["Dairy", "Milk"],
                "quantity": "1",
                "unit_price": "42.50",
                "discount": "0.00",
                "line_total": "42.50",
            }
            for i in range(20)
        ],
        "total": "850.00",
        "payments": [{"method": "card", "amount": "850.00"}],
        "vouchers": [],
    }
).encode()


async def bare(scope, receive, send) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def scope_of(path: str, body: bool) -> dict:
    headers = [(b"content-type", b"application/json")] if body else []
    return {"type": "http", "method": "POST" if body else "GET", "path": path,
            "query_string": b"", "headers": headers}  # fmt: skip


async def run(app, path: str, body: bytes) -> float:
    scope = scope_of(path, bool(body))

    async def send(_message) -> None:
        return None

    start = time.perf_counter()
    for _ in range(REQUESTS):
        sent = False

        async def receive():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, receive, send)
    return (time.perf_counter() - start) / REQUESTS * 1e6


def parse_cost() -> float:
    start = time.perf_counter()
    for _ in range(REQUESTS):
        json.loads(PURCHASE)
    return (time.perf_counter() - start) / REQUESTS * 1e6


async def main() -> None:
    parsing = statistics.median(parse_cost() for _ in range(ROUNDS))
    print(f"reference: json.loads of the purchase body {parsing:.1f} µs")
    checked = InputHygiene(bare, body_exempt_prefixes=("/webhooks/",))
    for name, path, body in [
        ("purchase, 20 lines", "/api/v1/pos/purchases", PURCHASE),
        ("card scan", "/api/v1/pos/cards/2710000012345", b""),
    ]:
        plain = [await run(bare, path, body) for _ in range(ROUNDS)]
        guarded = [await run(checked, path, body) for _ in range(ROUNDS)]
        base, with_check = statistics.median(plain), statistics.median(guarded)
        print(
            f"{name}: bare {base:.1f} µs, with the check {with_check:.1f} µs, "
            f"cost {with_check - base:.1f} µs per request ({with_check / base:.1f}x the bare app)"
        )


if __name__ == "__main__":
    asyncio.run(main())

"""Reading webhook bodies with a size cap, before anything parses them."""

from __future__ import annotations

from fastapi import HTTPException, Request


async def read_body_limited(request: Request, limit: int) -> bytes:
    """The raw body, or 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail="Request body is larger than 1 MiB.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail="Request body is larger than 1 MiB.")
        chunks.append(chunk)
    return b"".join(chunks)

"""Webhook throughput of one web process: registrations/s and /card updates/s with latency.

Starts a fresh PostgreSQL database, a fake Bot API on 127.0.0.1 and one `loyalty serve`
process, then drives it with Telegram Updates from this process (aiohttp client).

    .venv/bin/python bench/webhook_throughput.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import telegram_payloads as tg
from tests.support.databases import migrated_database
from tests.support.fake_telegram import FakeTelegramAPI
from tests.support.live_server import free_port

TOKEN = "123456:BENCH-token"
SECRET = "bench-secret"
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


async def post(session: aiohttp.ClientSession, url: str, update: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    async with session.post(
        url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
    ) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {body}")
    return time.perf_counter() - started, body


async def register(session: aiohttp.ClientSession, url: str, user_id: int) -> int:
    """One complete registration; returns how many answers the user gave after /start."""
    user = tg.user(user_id, "Олена", "uk")
    await post(session, url, tg.text_update(user, "/start"))
    answers = [
        tg.text_update(user, "Олена"),
        tg.contact_update(user, f"+38050{user_id % 10**7:07d}", user_id),
        tg.callback_update(user, "consent:yes"),
    ]
    for update in answers:
        await post(session, url, update)
    return len(answers)


async def run_pool(jobs: list, concurrency: int) -> None:
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while not queue.empty():
            await queue.get_nowait()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def bench_once(args: argparse.Namespace, url: str, first_user: int) -> dict:
    connector = aiohttp.TCPConnector(limit=max(args.concurrency, 200))
    async with aiohttp.ClientSession(connector=connector) as session:
        users = list(range(first_user, first_user + args.users))
        started = time.perf_counter()
        results: list[int] = []

        async def registration(user_id: int) -> None:
            results.append(await register(session, url, user_id))

        await run_pool([registration(u) for u in users], args.concurrency)
        registrations_per_s = len(users) / (time.perf_counter() - started)
        answers = results

        latencies: list[float] = []

        async def card(user_id: int) -> None:
            latency, body = await post(session, url, tg.text_update(tg.user(user_id), "/card"))
            assert body.get("method") == "sendPhoto", body
            latencies.append(latency)

        targets = [users[i % len(users)] for i in range(args.card_updates)]
        started = time.perf_counter()
        await run_pool([card(u) for u in targets], args.concurrency)
        card_per_s = len(targets) / (time.perf_counter() - started)
        result = {
            "registrations_per_s": registrations_per_s,
            "answers_to_card": statistics.mode(answers),
            "card_max_updates_per_s": card_per_s,
            "card_max_p50_ms": percentile(latencies, 0.50) * 1000,
            "card_max_p99_ms": percentile(latencies, 0.99) * 1000,
        }
        for rate in args.rates:
            latencies.clear()
            count = int(rate * args.seconds)
            started = time.perf_counter()
            tasks = []
            for index in range(count):
                # Open loop: requests leave on schedule whether or not earlier ones returned.
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(card(users[index % len(users)])))
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - started
            result[f"card_at_{rate}_achieved_per_s"] = count / elapsed
            result[f"card_at_{rate}_p50_ms"] = percentile(latencies, 0.50) * 1000
            result[f"card_at_{rate}_p99_ms"] = percentile(latencies, 0.99) * 1000
    return result


async def main(args: argparse.Namespace) -> None:
    fake = FakeTelegramAPI(TOKEN)
    await fake.start()
    port = free_port()
    with migrated_database("postgres", Path("/tmp"), SERVER) as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE": fake.base_url,
            "PUBLIC_BASE_URL": "",
            "SECRET_KEY": "bench",
        }
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/loyalty"), "serve", "--port", str(port), "--no-access-log"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/webhooks/telegram"
            async with aiohttp.ClientSession() as probe:
                for _ in range(200):
                    try:
                        async with probe.get(f"http://127.0.0.1:{port}/healthz") as response:
                            if response.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.05)
            runs = []
            for run in range(args.runs):
                result = await bench_once(args, url, 10**9 + run * 10**6)
                runs.append(result)
                print(
                    f"run {run + 1}: " + ", ".join(f"{k}={v:.1f}" for k, v in result.items()),
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
            await fake.stop()
    print("median of", args.runs, "runs:")
    for key in runs[0]:
        print(f"  {key}: {statistics.median(r[key] for r in runs):.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=300, help="registrations per run")
    parser.add_argument("--card-updates", type=int, default=3000, help="/card updates per run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rates", type=int, nargs="*", default=[100, 300], help="open-loop rates")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each rate step")
    asyncio.run(main(parser.parse_args()))

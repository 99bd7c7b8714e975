"""Benchmark client for PyPI `mcstatus` (asyncio), driven by `mcstat-bench run`.

Usage: python bench-mcstatus.py WORKLOAD HOST PORT N CONCURRENCY WARMUP

WORKLOAD is one of
  latency     N sequential Java lookups (status + ping on one connection), each timed
  throughput  N Java lookups (status + ping), CONCURRENCY at a time, timed as a whole
  query       N sequential Query full stats, each timed
  bedrock     N sequential Bedrock pings, each timed

WARMUP lookups run first, untimed. Prints one JSON object on stdout:
{"ok", "errors", "error" (the first, or null), "elapsed_s", "cpu_s", "lat_us": [...]}
where cpu_s is this process's CPU time (user + system, every thread) over the timed part.

A Java lookup is what `JavaServer.async_status()` and `async_ping()` do, on one
connection as the other tools do (mcstatus's public API would open two): handshake,
status request and response, ping and pong, through mcstatus's own AsyncJavaClient.
"""

import asyncio
import json
import sys
import time

from mcstatus import BedrockServer, JavaServer
from mcstatus._net.address import Address
from mcstatus._protocol.io.connection import TCPAsyncSocketConnection
from mcstatus._protocol.java_client import AsyncJavaClient

TIMEOUT = 5


async def java_lookup(addr):
    async with TCPAsyncSocketConnection(addr, TIMEOUT) as connection:
        client = AsyncJavaClient(connection, address=addr, version=47)
        await client.handshake()
        status = await client.read_status()
        await client.test_ping()
        if status.players is None:
            raise ValueError("no players in status")


async def main():
    workload, host, port, n, concurrency, warmup = sys.argv[1:7]
    port, n, concurrency, warmup = int(port), int(n), int(concurrency), int(warmup)
    addr = Address(host, port)
    if workload in ("latency", "throughput"):
        lookup = lambda: java_lookup(addr)  # noqa: E731
    elif workload == "query":
        server = JavaServer(host, port, timeout=TIMEOUT, query_port=port)
        lookup = lambda: server.async_query(tries=1)  # noqa: E731
    elif workload == "bedrock":
        server = BedrockServer(host, port, timeout=TIMEOUT)
        lookup = lambda: server.async_status(tries=1)  # noqa: E731
    else:
        raise SystemExit(f"unknown workload {workload}")

    ok = errors = 0
    first_error = None
    lat_us = []

    async def one(timed):
        nonlocal ok, errors, first_error
        start = time.perf_counter()
        try:
            await lookup()
        except Exception as e:  # noqa: BLE001 - every failure counts as an error
            errors += 1
            first_error = first_error or repr(e)
            return
        if timed:
            lat_us.append((time.perf_counter() - start) * 1e6)
        ok += 1

    for _ in range(warmup):
        await one(False)
    ok = errors = 0
    first_error = None

    start = time.perf_counter()
    cpu_start = time.process_time()
    if workload == "throughput":
        remaining = n

        async def worker():
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await one(False)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    else:
        for _ in range(n):
            await one(True)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({"ok": ok, "errors": errors, "error": first_error, "elapsed_s": elapsed, "cpu_s": cpu, "lat_us": lat_us}))


asyncio.run(main())

"""Minimal Beacon v2 nodes standing in for external nodes (real HTTP, real uvicorn).

Used by the hub tests that need nodes with controlled behaviour (delay, refusal, being
killed) and by benchmarks/hub_bench.py. Run several on consecutive ports in one process:

    python tests/hub/standin.py --port 9100 --count 10 --delays 0.01,0.02,...
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

API = "v2.0.0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Hang:
    """Pure ASGI (cheap enough for the benchmarks): log each path (and print it, if
    `state.announce`: how a test sees what a stand-in in another process received); while
    `state.hung`, hold every request unanswered, like a hung process that still accepts
    connections."""

    def __init__(self, app: Any, *, state: Any) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.state.requests.append(scope["path"])
            if self.state.announce:
                print(scope["path"], flush=True)
            while self.state.hung:
                await asyncio.sleep(0.05)
        await self.app(scope, receive, send)


def standin_app(
    name: str,
    *,
    delay: float = 0.0,
    require_auth: bool = False,
    datasets: list[dict[str, Any]] | None = None,
    count: int = 7,
) -> FastAPI:
    """A Beacon node answering count-granularity queries about its `datasets`."""
    app = FastAPI()
    app.state.delay = delay
    app.state.authorizations = []  # the Authorization header of every entry-type request
    app.state.requests = deque(maxlen=10_000)  # the path of each request received (/info too)
    app.state.hung = False  # True: every request is held unanswered until it is False again
    app.state.announce = False  # True: print each request's path to stdout as it arrives
    app.add_middleware(_Hang, state=app.state)

    app.state.datasets = datasets or [
        {
            "id": f"{name}-ds1",
            "name": f"{name} cohort",
            "description": f"stand-in cohort of {name}",
            "dataUseConditions": {
                "duoDataUse": [{"id": "DUO:0000042", "label": "general research use"}]
            },
            "info": {"assembly": "GRCh37", "counts": {"individuals": 100}},
        }
    ]
    beacon_id = f"org.example.{name}"

    def meta(granularity: str) -> dict[str, Any]:
        return {
            "beaconId": beacon_id,
            "apiVersion": API,
            "returnedSchemas": [
                {"entityType": "genomicVariant", "schema": "beacon-g_variant-v2.0.0"}
            ],
            "returnedGranularity": granularity,
            "receivedRequestSummary": {
                "apiVersion": API,
                "requestedSchemas": [],
                "pagination": {"skip": 0, "limit": 10},
                "requestedGranularity": granularity,
            },
        }

    @app.get("/info")
    async def info() -> dict[str, Any]:
        return {
            "meta": {"beaconId": beacon_id, "apiVersion": API, "returnedSchemas": []},
            "response": {
                "id": beacon_id,
                "name": name,
                "apiVersion": API,
                "environment": "test",
                "organization": {"id": name, "name": f"{name} hospital"},
            },
        }

    @app.get("/datasets")
    async def datasets_() -> dict[str, Any]:
        return {
            "meta": meta("record"),
            "responseSummary": {"exists": True, "numTotalResults": len(app.state.datasets)},
            "response": {"collections": app.state.datasets},
        }

    @app.get("/filtering_terms")
    async def filtering_terms() -> dict[str, Any]:
        return {
            "meta": {"beaconId": beacon_id, "apiVersion": API, "returnedSchemas": []},
            "response": {
                "filteringTerms": [
                    {"type": "ontologyTerm", "id": "HP:0001250", "label": "Seizure"},
                    {"type": "ontologyTerm", "id": "NCIT:C16576", "label": "female"},
                ]
            },
        }

    @app.api_route("/{entry}", methods=["GET", "POST"])
    async def entry(entry: str, request: Request) -> JSONResponse:
        app.state.authorizations.append(request.headers.get("authorization"))
        if require_auth and not request.headers.get("authorization"):
            return JSONResponse(
                {
                    "meta": meta("boolean"),
                    "error": {
                        "errorCode": 403,
                        "errorMessage": "a visa for this dataset is required",
                    },
                },
                status_code=403,
            )
        if app.state.delay:
            await asyncio.sleep(app.state.delay)
        return JSONResponse(
            {
                "meta": meta("count"),
                "responseSummary": {"exists": True, "numTotalResults": count},
                "response": {
                    "resultSets": [
                        {
                            "id": d["id"],
                            "setType": "dataset",
                            "exists": True,
                            "resultsCount": count,
                            "results": [],
                            "info": {"forwardedFor": request.headers.get("x-forwarded-for")},
                        }
                        for d in app.state.datasets
                    ]
                },
            }
        )

    return app


class ThreadServer:
    """A uvicorn server on a free loopback port, in a thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            proxy_headers=False,  # as genomesh serves apps (genomesh.cli.serving)
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[ThreadServer]:
    server = ThreadServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()


async def _serve_many(port: int, delays: list[float]) -> None:
    servers = []
    for i, delay in enumerate(delays):
        config = uvicorn.Config(
            standin_app(f"node{i}", delay=delay),
            host="127.0.0.1",
            port=port + i,
            log_level="warning",
            access_log=False,
        )
        servers.append(uvicorn.Server(config))
    await asyncio.gather(*(s.serve() for s in servers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delays", default="0", help="comma-separated per-node delays (s)")
    parser.add_argument("--name", default=None, help="single node: its name")
    parser.add_argument("--require-auth", action="store_true")
    parser.add_argument(
        "--announce", action="store_true", help="single node: print each request's path"
    )
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",")]
    if args.name:
        app = standin_app(args.name, delay=delays[0], require_auth=args.require_auth)
        app.state.announce = args.announce
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    else:
        asyncio.run(_serve_many(args.port, delays))


if __name__ == "__main__":
    main()

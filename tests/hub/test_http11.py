"""The hub's lean HTTP/1.1 node client against real loopback servers.

Raw asyncio servers answer with exactly the bytes each case needs (Content-Length, chunked,
read-until-close, `connection: close`, a keep-alive connection closed while idle).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from genomesh.hub.client import NodeClient, NodeRequest
from genomesh.hub.http11 import ExchangeError, Http11Client, Origin
from genomesh.hub.registry import NodePublic

Answer = Callable[[bytes], bytes]


def json_answer(body: bytes = b'{"ok":true}', *, close: bool = False) -> bytes:
    extra = b"connection: close\r\n" if close else b""
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + extra
        + f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


@asynccontextmanager
async def raw_server(
    answer: Answer, *, close_after: int | None = None
) -> AsyncIterator[tuple[str, dict[str, object]]]:
    """A server answering each request head with `answer(head)`; counts connections and
    requests, and closes a connection after `close_after` answers (without saying so)."""
    seen: dict[str, object] = {"connections": 0, "requests": [], "bodies": []}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] = int(seen["connections"]) + 1  # type: ignore[call-overload]
        answered = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                seen["requests"].append(head.split(b"\r\n", 1)[0].decode())  # type: ignore[attr-defined]
                seen["bodies"].append(body)  # type: ignore[attr-defined]
                data = answer(head)
                writer.write(data)
                await writer.drain()
                answered += 1
                if b"connection: close" in data or (close_after and answered >= close_after):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_http11__keeps_connections_alive_and_sends_one_request_line() -> None:
    async def main() -> None:
        async with raw_server(lambda head: json_answer()) as (url, seen):
            client = Http11Client()
            for _ in range(5):
                status, body = await client.request(
                    url, "GET", "/g_variants", params=[("start", "1"), ("a b", "c/d")], headers={}
                )
                assert (status, body) == (200, b'{"ok":true}')
            status, _ = await client.request(
                url + "/beacon/", "POST", "/individuals", params=[], headers={}, body=b"{}"
            )
            await client.aclose()
        assert seen["connections"] == 1
        assert seen["requests"][0] == "GET /g_variants?start=1&a%20b=c%2Fd HTTP/1.1"  # type: ignore[index]
        assert seen["requests"][-1] == "POST /beacon/individuals HTTP/1.1"  # type: ignore[index]
        assert seen["bodies"][-1] == b"{}"  # type: ignore[index]

    run(main())


def test_http11__a_connection_the_node_closed_while_idle_is_replaced() -> None:
    async def main() -> None:
        async with raw_server(lambda head: json_answer(), close_after=1) as (url, seen):
            client = Http11Client()
            for _ in range(3):
                await client.request(url, "GET", "/info", params=[], headers={})
                await asyncio.sleep(0.05)  # the server's close arrives while idle
            for _ in range(3):  # or not yet: the reused connection ends before any answer
                await client.request(url, "GET", "/info", params=[], headers={})
            await client.aclose()
        assert seen["connections"] == 6
        assert len(seen["requests"]) == 6  # type: ignore[arg-type]

    run(main())


def test_http11__chunked_and_close_delimited_bodies_and_connection_close() -> None:
    chunked = (
        b'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:1}\r\n0\r\n\r\n'
    )
    until_close = b'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n{"b":2}'

    async def main() -> None:
        async with raw_server(lambda head: chunked) as (url, seen):
            client = Http11Client()
            assert await client.request(url, "GET", "/x", params=[], headers={}) == (
                200,
                b'{"a":1}',
            )
            assert await client.request(url, "GET", "/x", params=[], headers={}) == (
                200,
                b'{"a":1}',
            )
            await client.aclose()
            assert seen["connections"] == 1
        async with raw_server(lambda head: until_close) as (url, seen):
            client = Http11Client()
            for _ in range(2):
                assert await client.request(url, "GET", "/x", params=[], headers={}) == (
                    200,
                    b'{"b":2}',
                )
            await client.aclose()
            assert seen["connections"] == 2  # connection: close is honoured

    run(main())


def test_http11__refuses_what_could_split_the_request() -> None:
    client = Http11Client()
    origin = Origin.parse("http://127.0.0.1:1")
    with pytest.raises(ExchangeError, match="unsafe characters"):
        client.request_bytes(origin, "GET", "/individuals/\x00", params=[], headers={}, body=None)
    with pytest.raises(ExchangeError, match="unsafe characters"):
        client.request_bytes(origin, "GET", "/a b", params=[], headers={}, body=None)
    with pytest.raises(ExchangeError, match="line break"):
        client.request_bytes(
            origin, "GET", "/a", params=[], headers={"x-forwarded-for": "1\r\nx: y"}, body=None
        )
    with pytest.raises(ExchangeError, match="not an http"):
        Origin.parse("ftp://example.org")


def test_http11__unreachable_node_and_cancelled_exchange() -> None:
    async def main() -> None:
        client = Http11Client()
        async with raw_server(lambda head: json_answer()) as (url, _):
            pass  # closed: nothing listens on that port any more
        with pytest.raises(ExchangeError, match="cannot connect"):
            await client.request(url, "GET", "/info", params=[], headers={})

        # a node that never answers: the caller's time limit cancels the exchange, and the
        # half-used connection is not kept for the next request
        async with raw_server(lambda head: b"") as (slow, _seen):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(
                    client.request(slow, "GET", "/info", params=[], headers={}), 0.2
                )
            assert not client._idle[client.origin(slow).key]
        await client.aclose()

    run(main())


def _node(name: str, url: str) -> NodePublic:
    return NodePublic(
        name=name, base_url=url, dial_out=False, country="NL", contact="", public_key=None,
        created=datetime.now(UTC),
    )  # fmt: skip


def test_http11__a_fan_out_reuses_idle_connections_without_a_task_each() -> None:
    """`NodeClient.send_all` writes a fan-out's requests on idle keep-alive connections
    (`Http11Client.begin`), answers them from the connections' callbacks, and puts the
    connections back; a node that closed its idle connection is asked again on a new one."""

    async def main() -> None:
        async with (
            raw_server(lambda head: json_answer()) as (url, seen),
            raw_server(lambda head: json_answer(), close_after=1) as (closing, seen_closing),
        ):
            client = NodeClient()
            nodes = [_node("a", url), _node("b", closing)]
            assert client._http11 is not None
            assert client._http11.begin(url, "GET", "/g_variants", params=[], headers={}) is None
            for _ in range(4):
                replies = await client.send_all(
                    [(n, NodeRequest("GET", "/g_variants")) for n in nodes], timeout=5
                )
                assert [(r.node, r.status, r.body) for r in replies] == [
                    ("a", "ok", {"ok": True}),
                    ("b", "ok", {"ok": True}),
                ]
            pool = client._http11._idle[client._http11.origin(url).key]
            assert len(pool) == 1  # the one connection, back after each exchange
            future = client._http11.begin(url, "GET", "/info", params=[], headers={})
            assert future is not None and await future == (200, b'{"ok":true}')
            await asyncio.sleep(0)  # its done callback puts the connection back
            assert len(pool) == 1
            await client.aclose()
        assert seen["connections"] == 1 and len(seen["requests"]) == 5  # type: ignore[arg-type]
        assert seen_closing["connections"] == 4 and len(seen_closing["requests"]) == 4  # type: ignore[arg-type]

    run(main())


def test_http11__a_fan_out_times_out_a_silent_node_and_drops_its_connection() -> None:
    answers = iter([json_answer(), b""])  # the first request answered, the second never

    async def main() -> None:
        async with raw_server(lambda head: next(answers)) as (url, _seen):
            client = NodeClient()
            node = _node("slow", url)
            first = await client.send_all([(node, NodeRequest("GET", "/x"))], timeout=5)
            assert first[0].status == "ok"
            second = await client.send_all([(node, NodeRequest("GET", "/x"))], timeout=0.2)
            assert (second[0].status, second[0].reason) == ("timeout", "no answer within 0.2 s")
            await asyncio.sleep(0)
            assert client._http11 is not None
            assert not client._http11._idle[client._http11.origin(url).key]
            await client.aclose()

    run(main())

"""The paths the hub sends nodes: beaconMap routes only, ids as one encoded segment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from genomesh.core.errors import InvalidInputError, NotFoundError
from genomesh.hub.beacon_paths import MAX_ID_LENGTH, check_id, node_path, refuse_unrouted
from genomesh.hub.client import NodeClient, NodeReply, NodeRequest
from genomesh.hub.registry import NodePublic


@pytest.mark.parametrize(
    ("entry_id", "match"),
    [
        ("", "may not be empty"),
        ("x" * (MAX_ID_LENGTH + 1), "at most 256 characters"),
        ("a\x00b", "control character U\\+0000 \\(at position 1\\)"),
        ("\x1eB", "control character U\\+001E"),
        ("a\u2028b", "control character U\\+2028"),
        ("a\x7f", "control character U\\+007F"),
        ("../openapi.json", "one path segment"),
        ("a\\b", "one path segment"),
        ("..", "contain '..'"),
        (".", "may not be '.'"),
        ("a..b", "contain '..'"),
    ],
)
def test_check_id__refuses_what_cannot_be_one_segment(entry_id: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=f"field 'id': .*{match}"):
        check_id(entry_id)


def test_node_path__encodes_the_id_as_one_segment() -> None:
    assert node_path("g_variants") == "/g_variants"
    assert node_path("individuals", "HG00096") == "/individuals/HG00096"
    assert node_path("individuals", "a b?c#d%e:f") == "/individuals/a%20b%3Fc%23d%25e%3Af"
    assert node_path("datasets", "ds1", "individuals") == "/datasets/ds1/individuals"
    assert node_path("datasets", "ds1", "filtering_terms") == "/datasets/ds1/filtering_terms"
    assert node_path("individuals", "é") == "/individuals/%C3%A9"


def test_node_path__only_beacon_map_routes() -> None:
    with pytest.raises(NotFoundError, match="no such entry type: participants"):
        node_path("participants", "me")
    with pytest.raises(NotFoundError, match="no such endpoint"):
        node_path("runs", "r1", "individuals")  # not a cross path of runs
    with pytest.raises(NotFoundError, match="no such endpoint"):
        node_path("individuals", "i1", "filtering_terms")
    with pytest.raises(InvalidInputError, match="field 'id'"):
        node_path("individuals", "../../participants/me/export")


def test_refuse_unrouted__traversal_is_a_bad_id_and_the_rest_unknown() -> None:
    error = refuse_unrouted("individuals", "/individuals/..%2F..%2Fparticipants%2Fme%2Fexport")
    assert isinstance(error, InvalidInputError) and error.field == "id"
    error = refuse_unrouted("runs", "/runs/x/../../openapi.json?nodes=a")
    assert isinstance(error, InvalidInputError) and error.field == "id"
    error = refuse_unrouted("individuals", "/individuals/i1/g_variants/")
    assert isinstance(error, NotFoundError)  # a trailing slash is not an empty id
    error = refuse_unrouted("datasets", "/datasets/d1/participants")
    assert isinstance(error, NotFoundError)
    assert "for target in: g_variants, individuals" in error.message


def test_node_client__an_unsendable_url_is_a_node_error_not_a_crash() -> None:
    """Defence in depth: httpx.InvalidURL (no httpx.HTTPError) was a 500 of the whole query."""
    node = NodePublic(
        name="a", base_url="http://127.0.0.1:9", dial_out=False, country="NL", contact="",
        public_key=None, created=datetime.now(UTC),
    )  # fmt: skip
    client = NodeClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))

    async def send() -> NodeReply:
        try:
            return await client.send(node, NodeRequest("GET", "/individuals/\x00"), timeout=2)
        finally:
            await client.aclose()

    reply = asyncio.run(send())
    assert reply.status == "error"
    assert "InvalidURL" in (reply.reason or "")

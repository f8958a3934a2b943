"""Which paths the hub's Beacon network forwards to nodes, and how ids are put in them.

The hub forwards Beacon queries, not arbitrary requests (QA issue 12: an id of
`..%2F..%2Fparticipants%2Fme%2Fexport` reached a node's participant export). Only the routes
of the default model's beaconMap are forwarded:

    /{entry}    /{entry}/{id}    /{entry}/{id}/{target}    /datasets/{id}/filtering_terms

with `entry` and `target` from `genomesh.core.beacon_model` (ENTRY_TYPES, CROSS_PATHS), and
the path the node receives is built here from those parts, never copied from the caller's
URL. An id is checked (`check_id`) and sent as exactly one percent-encoded path segment.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote

from genomesh.core.beacon_model import CROSS_PATHS, ENTRY_TYPES
from genomesh.core.errors import InvalidInputError, NotFoundError

MAX_ID_LENGTH = 256
# control characters, surrogates, line and paragraph separators: never part of an id, and
# httpx refuses some of them in a URL (they gave 500: QA issue 12)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def check_id(value: str, *, field: str = "id") -> str:
    """`value` if it is a usable Beacon id, else InvalidInputError naming `field`."""
    if not value:
        raise InvalidInputError("an id may not be empty", field=field)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInputError(
            f"an id is at most {MAX_ID_LENGTH} characters; this one has {len(value)}", field=field
        )
    for position, char in enumerate(value):
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            raise InvalidInputError(
                f"an id may not contain control character U+{ord(char):04X} "
                f"(at position {position})",
                field=field,
            )
    if "/" in value or "\\" in value:
        raise InvalidInputError(
            "an id is one path segment: it may not contain '/' or '\\'", field=field
        )
    if ".." in value or value == ".":
        raise InvalidInputError("an id may not be '.' or contain '..'", field=field)
    return value


def node_path(entry: str, entry_id: str | None = None, target: str | None = None) -> str:
    """The path a node is sent for a Beacon route: known entry and target, id checked and
    percent-encoded as one segment (`quote(..., safe="")`: '/', '?', '#', '%' all encoded)."""
    if entry not in ENTRY_TYPES:
        raise NotFoundError(f"no such entry type: {entry}")
    if entry_id is None:
        if target is not None:
            raise NotFoundError(f"/{entry}/{target} needs an id")
        return f"/{entry}"
    segment = quote(check_id(entry_id), safe="")
    if target is None:
        return f"/{entry}/{segment}"
    if target not in CROSS_PATHS[entry] and not (
        entry == "datasets" and target == "filtering_terms"
    ):
        raise NotFoundError(f"no such endpoint: /{entry}/{{id}}/{target}")
    return f"/{entry}/{segment}/{target}"


def refuse_unrouted(entry: str, raw_path: str) -> InvalidInputError | NotFoundError:
    """The error for a path under `/{entry}/` that is no Beacon route: 400 naming the id if a
    segment cannot be an id (an encoded '/', a dot segment: a traversal attempt), else 404
    saying what is forwarded. `raw_path` is the path as sent, still percent-encoded."""
    segments = [unquote(s) for s in raw_path.split("?", 1)[0].split("/")[2:]]
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()  # a trailing slash is no empty id
    for segment in segments:
        try:
            check_id(segment)
        except InvalidInputError as exc:
            return exc
    targets = ", ".join(CROSS_PATHS.get(entry, ()))
    return NotFoundError(
        f"no such endpoint: /{entry}/{'/'.join(segments)}; the network forwards /{entry}, "
        f"/{entry}/{{id}} and /{entry}/{{id}}/{{target}} for target in: {targets}"
    )


__all__ = ["MAX_ID_LENGTH", "check_id", "node_path", "refuse_unrouted"]

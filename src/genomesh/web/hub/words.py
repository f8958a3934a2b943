"""Words for the code-of-conduct states the hub's pages show (review route, community
decision, register status), in one place so every page says the same thing."""

from __future__ import annotations

REVIEW_WORDS = {
    "automatic": "approved automatically (low-risk purpose within the consent terms)",
    "committee": "reviewed by the data access committee",
}
COMMUNITY_WORDS = {
    "pending": "waiting for the community's decision",
    "approved": "approved by the community",
    "declined": "declined by the community",
}
STATUS_WORDS = {"approved": "access now", "expired": "access ended", "revoked": "access revoked"}


def review_words(route: str | None) -> str:
    """How an application is reviewed, in words (not routed yet: not submitted)."""
    if route is None:
        return "not routed yet"
    return REVIEW_WORDS.get(route, route)


def words_context() -> dict[str, object]:
    """What templates need to put these states into words."""
    return {"route_words": review_words, "community_words": COMMUNITY_WORDS,
            "status_words": STATUS_WORDS}  # fmt: skip


__all__ = ["COMMUNITY_WORDS", "REVIEW_WORDS", "STATUS_WORDS", "review_words", "words_context"]

"""What to do next, added to every passport error (issue 10: the errors named the problem
precisely but left the researcher stuck).

The advice is chosen by the kind of problem the message names; it never repeats the token.
"""

from __future__ import annotations

FRESH = "get a fresh one with `genomesh dac passport`"
_ADVICE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("expired", "not yet valid", "issued in the future"),
     f"{FRESH} (if it was just issued, check this computer's clock)"),
    (("audience",),
     "a passport is for one audience: send the query through the hub (`genomesh query ...`), "
     "or get one for this node alone with `genomesh dac passport --node NAME`"),
    (("not trusted by this node",),
     "this node accepts passports only from the issuers its operator trusts "
     "([[trusted_issuers]] in genomesh.toml): query through the hub that issued yours, or ask "
     "the node operator to trust it"),
    (("revoked",),
     "this approval was withdrawn: see `genomesh dac show ID` or ask the data access "
     "committee; a renewed approval comes with a new passport"),
    (("signature", "base64", "JWS", "not a JSON", "kid", "key ", "alg", "token is not"),
     f"send the passport exactly as `genomesh dac passport` printed it (one line), or {FRESH}"),
)  # fmt: skip


def next_step(message: str) -> str:
    """`message` with what to do about it; a generic hint when the kind is not recognised."""
    for needles, advice in _ADVICE:
        if any(n in message for n in needles):
            return f"{message}; {advice}"
    return f"{message}; {FRESH}"


__all__ = ["FRESH", "next_step"]

"""Community data sovereignty at the node: who of a dataset's participants a caller may not see.

A custodian marks participants as governed by a community (`DatasetPolicy.communities`, each
a `CommunityGroup`: the community's id at the hub, the group's individuals or the whole
dataset, and its Local Contexts Biocultural Labels). Those participants count in no answer to
a caller unless the caller's passport carries the community's approval: a valid
`genomesh.CommunityApproval` visa whose value is the community's id, which the hub's DAC issues
only once both the committee and the community's governance body have approved the
application. Until then (and if the community declines) they are left out, at every tier and
on every surface that goes through the guard, matchmaking included.

Labels with a machine-readable condition are enforced like DUO modifiers, even with the
community's approval: `BC Non-Commercial` leaves the group out of any commercial or for-profit
purpose (and of a caller with no stated purpose, whose use cannot be known).
"""

from __future__ import annotations

from collections.abc import Sequence

from genomesh.access.identity import Identity
from genomesh.access.visas import COMMUNITY_APPROVAL
from genomesh.core.settings import CommunityGroup

NON_COMMERCIAL = frozenset({"BC Non-Commercial"})


def approved_communities(identity: Identity) -> frozenset[str]:
    """The communities whose approval the caller's verified visas carry."""
    return frozenset(v.value for v in identity.visas if v.type == COMMUNITY_APPROVAL)


def commercial_use(identity: Identity) -> bool | None:
    """Whether the caller's stated purpose is commercial (None: no purpose stated)."""
    purpose = identity.purpose
    if purpose is None:
        return None
    return bool(purpose.commercial or purpose.for_profit)


def community_exclusions(
    groups: Sequence[CommunityGroup], identity: Identity, everyone: frozenset[str]
) -> tuple[frozenset[str], tuple[str, ...]]:
    """(participants to leave out, a note per group left out saying why)."""
    if not groups:
        return frozenset(), ()
    held = approved_communities(identity)
    commercial = commercial_use(identity)
    out: set[str] = set()
    notes: list[str] = []
    for group in groups:
        members = everyone if not group.individuals else everyone & frozenset(group.individuals)
        name = f"community {group.community}" + (f" (group {group.group})" if group.group else "")
        if group.community not in held:
            out |= members
            notes.append(f"participants governed by {name} left out: no approval by the community")
        elif NON_COMMERCIAL & set(group.labels) and commercial is not False:
            out |= members
            why = "a commercial purpose" if commercial else "no stated purpose"
            notes.append(f"participants governed by {name} left out: BC Non-Commercial and {why}")
    return frozenset(out), tuple(notes)


__all__ = ["approved_communities", "commercial_use", "community_exclusions"]

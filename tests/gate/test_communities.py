"""Community data sovereignty in the guard: who is left out, and why (genomesh.gate.communities)."""

from __future__ import annotations

from genomesh.access.identity import Identity, Visa
from genomesh.access.visas import COMMUNITY_APPROVAL
from genomesh.core.purpose import ResearchPurpose
from genomesh.core.settings import CommunityGroup
from genomesh.gate.communities import community_exclusions

EVERYONE = frozenset({"P1", "P2", "P3", "P4"})
GROUP = CommunityGroup(community="nation", group="g", individuals=["P1", "P2", "P9"],
                       labels=["BC Provenance", "BC Non-Commercial"])  # fmt: skip


def caller(*communities: str, commercial: bool | None = False) -> Identity:
    visas = tuple(
        Visa(type=COMMUNITY_APPROVAL, value=c, source="https://hub", by="dac", asserted=0,
             issuer="https://hub", expires=2**40)
        for c in communities
    )  # fmt: skip
    purpose = (
        None if commercial is None
        else ResearchPurpose(category="general", commercial=commercial)
    )  # fmt: skip
    return Identity(tier="controlled", subject="rita", issuer="https://hub", visas=visas,
                    purpose=purpose)  # fmt: skip


def test_communities__without_the_communitys_approval_its_members_are_left_out() -> None:
    out, notes = community_exclusions([GROUP], caller(), EVERYONE)
    assert out == {"P1", "P2"}  # P9 is not in the dataset
    assert notes == (
        "participants governed by community nation (group g) left out: no approval by the community",
    )
    assert community_exclusions([GROUP], caller("another"), EVERYONE)[0] == {"P1", "P2"}


def test_communities__approval_lets_them_count_unless_a_label_condition_forbids() -> None:
    assert community_exclusions([GROUP], caller("nation"), EVERYONE) == (frozenset(), ())
    out, notes = community_exclusions([GROUP], caller("nation", commercial=True), EVERYONE)
    assert out == {"P1", "P2"} and "BC Non-Commercial and a commercial purpose" in notes[0]
    out, notes = community_exclusions([GROUP], caller("nation", commercial=None), EVERYONE)
    assert out == {"P1", "P2"} and "no stated purpose" in notes[0]
    whole = CommunityGroup(community="nation", labels=["BC Provenance"])
    assert community_exclusions([whole], caller("nation", commercial=True), EVERYONE)[0] == set()
    assert community_exclusions([whole], caller(), EVERYONE)[0] == EVERYONE
    assert community_exclusions([], caller(), EVERYONE) == (frozenset(), ())

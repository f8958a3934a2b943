"""Participant API (`/participants`): who used my data, export my data, withdraw.

The node app mounts `router`; routes are filled in by the participants module.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/participants", tags=["participants"])

__all__ = ["router"]

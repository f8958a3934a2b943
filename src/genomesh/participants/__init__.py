"""Participant rights: access report, export, withdrawal (API router in `.routes`)."""

from genomesh.participants.rights import access_report, dataset_export, export_data
from genomesh.participants.withdrawal import WithdrawalReport, redeliver_pending, withdraw

__all__ = [
    "WithdrawalReport",
    "access_report",
    "dataset_export",
    "export_data",
    "redeliver_pending",
    "withdraw",
]

"""The archive service: authenticated idempotent ingest, reading API, gallery, retention."""

from ._archive import Archive
from ._settings import ArchiveSettings, Retention

__all__ = ["Archive", "ArchiveSettings", "Retention"]

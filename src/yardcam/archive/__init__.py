"""The archive service: authenticated idempotent ingest, reading API, gallery, retention.

For an embedded single node (what ``yardcam run`` does)::

    settings = ArchiveSettings.for_data_dir("data/archive")
    token = await create_token(settings, cam="yard", scope="upload")
    create_user(settings, "owner", "a long password")  # a gallery login
    app = create_app(settings)  # serve with uvicorn (lifespan on)
"""

from ._app import create_app
from ._archive import Archive
from ._export import export_zip
from ._retention import PurgeResult, purge
from ._settings import ArchiveSettings, Retention
from ._tokens import SCOPES, create_token, issue_token
from ._users import create_user

__all__ = [
    "SCOPES",
    "Archive",
    "ArchiveSettings",
    "PurgeResult",
    "Retention",
    "create_app",
    "create_token",
    "create_user",
    "export_zip",
    "issue_token",
    "purge",
]

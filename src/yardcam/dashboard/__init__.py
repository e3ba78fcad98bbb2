"""The camera's web app: the tutorial's API (status, snapshot, MJPEG stream, config, SSE events,
WebSocket control), ways in for scripts (JWT, HTTP Basic, scoped API tokens), and a dashboard
that tells the truth, for one or several cameras, behind :mod:`yardcam.web`'s sessions.

Wiring ``yardcam run``::

    settings = DashboardSettings(web=WebSettings(secret_key=..., cookie_name="yardcam_cam"),
                                 accounts=Accounts(data / "users.json"), data_dir=data)
    feeds = [CameraFeed("yard", hub, detector, uploader.stats)]
    app = create_app(feeds, settings,
                     tasks=[lambda: hub.run(source), lambda: detector.run(hub), uploader.run])
    cert, key = ensure_self_signed_cert(data / "tls")
    uvicorn.run(app, ssl_certfile=cert, ssl_keyfile=key, timeout_graceful_shutdown=3)

The CLI's ``yardcam token create|list|revoke`` calls :func:`create_api_token`,
:func:`list_api_tokens` and :func:`revoke_api_token`; ``yardcam run`` reads the settings
changed in the app with :func:`load_camera_state`.
"""

from ._app import create_app
from ._settings import CameraFeed, DashboardSettings
from ._state import load_camera_state
from ._tokens import ApiToken, create_api_token, list_api_tokens, revoke_api_token

__all__ = [
    "ApiToken",
    "CameraFeed",
    "DashboardSettings",
    "create_api_token",
    "create_app",
    "list_api_tokens",
    "load_camera_state",
    "revoke_api_token",
]

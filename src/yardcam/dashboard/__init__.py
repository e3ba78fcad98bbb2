"""The camera's web app: a dashboard that lights up when motion fires, live MJPEG preview,
snapshot and a small control API, all behind a login (see :mod:`yardcam.web`).

Wiring ``yardcam run``::

    settings = DashboardSettings(web=WebSettings(secret_key=..., cookie_name="yardcam_cam"),
                           accounts=Accounts(data / "users.json"))
    app = create_app(hub, detector, uploader.stats, settings,
                     tasks=[lambda: hub.run(source), lambda: detector.run(hub), uploader.run])
    cert, key = ensure_self_signed_cert(data / "tls")
    uvicorn.run(app, ssl_certfile=cert, ssl_keyfile=key, timeout_graceful_shutdown=3)
"""

from ._app import create_app
from ._settings import DashboardSettings

__all__ = ["DashboardSettings", "create_app"]

"""The archive's gallery for people: cameras, motion events (a flipbook each), a day timeline,
full frames, frames archived per hour.

Mounted by the archive app::

    gallery = build_gallery(settings, archive)
    app = Starlette(routes=[*api_routes, *gallery.routes], middleware=gallery.middleware)

or piece by piece with :func:`gallery_routes` + :func:`gallery_auth` + ``yardcam.web``.
"""

from ._routes import gallery_auth, gallery_routes
from ._site import Gallery, build_gallery

__all__ = ["Gallery", "build_gallery", "gallery_auth", "gallery_routes"]

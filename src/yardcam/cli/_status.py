"""``yardcam status``: what a running cam is doing, from its ``/status`` API.

It asks the cam over HTTPS like any other client, with an API token (``yardcam token create``),
so it works from another box too (``--url``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from yardcam import requests
from yardcam.config import CamConfig

from ._hints import same_place
from ._plural import counted

LoadConfig = Callable[[argparse.Namespace], CamConfig]


def register(subparsers: Any, load: LoadConfig, *, prog: str, parents: list[Any]) -> None:
    status = subparsers.add_parser(
        "status",
        parents=parents,
        help="what a running cam is doing (cameras, motion, archive, outbox)",
        epilog=f"examples:\n  {prog} token create status --scope read > ~/.yardcam-token\n"
        f"  {prog} status --token-file ~/.yardcam-token\n"
        f"  YARDCAM_API_TOKEN=ycam_... {prog} status --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status.add_argument("--url", help="the cam's address (default: this box's, from the config)")
    status.add_argument(
        "--token-file", type=Path, help="an API token (default: $YARDCAM_API_TOKEN)"
    )
    status.add_argument(
        "--ca-bundle",
        type=Path,
        help="to verify the cam (default: this box's self-signed cert for a cam on this box, "
        "else the system's CAs)",
    )
    status.add_argument("--json", action="store_true", help="the /status document as it is")
    status.set_defaults(func=lambda args: _status(args, load(args), prog))


def _status(args: argparse.Namespace, config: CamConfig, prog: str) -> int:
    token = os.environ.get("YARDCAM_API_TOKEN")
    place = same_place(args)
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else "not a token"
            print(
                f"{prog} status: cannot read the token file {args.token_file} ({why}); make "
                f"one with '{prog} token create status --scope read{place} > "
                f"{args.token_file}'",
                file=sys.stderr,
            )
            return 2
    if not token:
        print(
            f"{prog} status: needs an API token: make one with '{prog} token create status "
            f"--scope read{place} > ~/.yardcam-token', then run '{prog} status --token-file "
            f"~/.yardcam-token{place}' (or set YARDCAM_API_TOKEN)",
            file=sys.stderr,
        )
        return 2
    host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "127.0.0.1") else config.host
    url = (args.url or f"https://{host}:{config.port}").rstrip("/")
    verify: bool | str = True
    if args.ca_bundle is not None:
        verify = str(args.ca_bundle)
    elif config.tls_cert is None and (args.url is None or _on_this_box(url)):
        # Its self-signed certificate: also for --url https://localhost:PORT (another port
        # than the config's, as 'yardcam run --port' gives), which no system CA vouches for.
        verify = str(config.data_dir / "tls" / "cert.pem")
    try:
        r = requests.get(
            f"{url}/status", headers={"Authorization": f"Bearer {token}"}, verify=verify
        )
    except OSError as exc:
        if isinstance(exc, requests.exceptions.SSLError):
            hint = "pass the cam's certificate or CA with --ca-bundle FILE"
        else:
            hint = "is it running? (on another address or port: --url https://HOST:PORT)"
        print(f"{prog} status: cannot reach the cam at {url}: {exc}; {hint}", file=sys.stderr)
        return 1
    if r.status_code != 200:
        print(f"{prog} status: {url} answered {r.status_code}: {r.text[:200]}", file=sys.stderr)
        return 1
    doc = r.json()
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for camera in doc.get("cameras", []):
        source = camera.get("source") or {}
        state = source.get("state", "?") if isinstance(source, dict) else source
        print(
            f"camera {camera['camera']}: {state}, {camera.get('fps') or 0:.1f} fps, "
            f"{counted(camera['frames'], 'frame')}, {counted(camera['triggers'], 'trigger')}, "
            f"threshold {camera['threshold']:g}, change {camera['change']:g}"
        )
    archive = doc.get("archive")
    if archive:
        error = f"; last error: {archive['last_error']}" if archive.get("last_error") else ""
        print(
            f"archive {archive['state']}: {archive['sent']} sent, {archive['pending']} pending, "
            f"{archive['dead_lettered']} dead, {archive['dropped']} dropped; outbox "
            f"{archive['outbox_state']}{error}"
        )
    return 0


def _on_this_box(url: str) -> bool:
    return urlsplit(url).hostname in ("localhost", "127.0.0.1", "::1")

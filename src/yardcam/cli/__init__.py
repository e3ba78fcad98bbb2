"""The ``yardcam`` command: parses, loads the configuration, calls the layers; no logic of its own.

Every leaf command sets ``args.func`` (``func(args) -> int`` exit status). Settings that the
configuration file also holds default to None here, so an unset flag never hides the file's or
the environment's value (see :mod:`yardcam.config`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from yardcam.config import LOG_LEVELS, CamConfig, ConfigError, load_cam_config, render

from . import _archive, _outbox, _status, _tokens, _users

_EXAMPLES = """\
examples:
  yardcam run                                   the synthetic yard, dashboard on :8443
  yardcam run --source device:0 --host 0.0.0.0  a USB camera, reachable from the LAN
  yardcam run --config /etc/yardcam/yardcam.toml
  yardcam config show                           every setting, where it came from
  yardcam user passwd owner                     change the dashboard login
  yardcam status --token-file ~/.yardcam-token  what the running cam is doing
  yardcam outbox list                           frames waiting for the archive
  yardcam archive serve --data-dir /srv/yardcam an archive node on its own box

Configuration: a TOML file (--config, default DATA/yardcam.toml), then YARDCAM_* variables,
then flags; docs/yardcam.example.toml lists every key.
"""


def invoked_as() -> str:
    """How the user started this program, so printed hints are commands that work as printed.

    After ``bash scripts/run`` the command is ``.venv/bin/yardcam`` (not on the PATH);
    ``python -m yardcam`` is spelled out with this interpreter.
    """
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "yardcam"
    if argv0.endswith("__main__.py") or argv0 == "-m":
        return f"{sys.executable} -m yardcam"
    name = os.path.basename(argv0)
    found = shutil.which(name)
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return name
    return argv0


def _cam_options() -> argparse.ArgumentParser:
    """--data-dir and --config: where the cam's configuration and data are."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        help="outbox, archive, logins, TLS cert (default: $YARDCAM_DATA_DIR or "
        "~/.local/share/yardcam)",
    )
    common.add_argument(
        "--config", type=Path, help="TOML configuration file (default: DATA/yardcam.toml)"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="yardcam",
        description="A motion camera whose every triggered frame reaches an off-site archive.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = _cam_options()

    run = sub.add_parser(
        "run",
        parents=[common],
        help="cameras + motion detection + dashboard + embedded archive, in one process",
        description="Defaults: the synthetic backyard, dashboard on https://localhost:8443/,\n"
        "embedded archive + gallery on https://localhost:8444/. Several cameras: [[camera]]\n"
        "tables in the configuration file; the camera flags below set the first one.",
        epilog="examples:\n  yardcam run --source device:0 --host 0.0.0.0\n"
        "  yardcam run --archive-url https://archive.example.net/frames \\\n"
        "              --token-file /etc/yardcam/archive-token\n"
        "  yardcam run --log-format json   # under systemd",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_flags(run)
    run.set_defaults(func=_run)

    config = sub.add_parser("config", help="the effective configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser(
        "show",
        parents=[common],
        help="print every setting with its source (secrets masked)",
        description="Prints the configuration yardcam run would use, as TOML, with the layer "
        "that set each key: default < file < env < flag < state (saved in the dashboard).",
    )
    _add_run_flags(show)
    show.set_defaults(func=_config_show)

    _users.register(
        sub,
        lambda args: _cam_data_dir(args) / "users.json",
        prog=invoked_as(),
        what="the cam's dashboard (and embedded gallery)",
        parents=[common],
    )
    _tokens.register(sub, _cam_data_dir, prog=invoked_as(), parents=[common])
    _status.register(sub, _cam_config, prog=invoked_as(), parents=[common])
    _outbox.register(sub, _cam_config, prog=invoked_as(), parents=[common])
    _archive.register(sub, prog=f"{invoked_as()} archive")
    return parser


def _add_run_flags(run: argparse.ArgumentParser) -> None:
    camera = run.add_argument_group("the (first) camera")
    camera.add_argument(
        "--source", help="synthetic[:seed=N,...], dir:PATH, http(s)://MJPEG, device:0, rtsp://..."
    )
    camera.add_argument("--fps", type=float)
    camera.add_argument("--cam", help="this camera's name in the archive (default: yard)")
    camera.add_argument("--threshold", type=float, help="motion threshold, 0..100")
    run.add_argument(
        "--host", help="address to serve on (0.0.0.0 to reach it from the LAN; default 127.0.0.1)"
    )
    run.add_argument("--port", type=int, help="dashboard port (default 8443)")
    run.add_argument("--archive-port", type=int, help="embedded archive port (default 8444)")
    run.add_argument(
        "--archive-url", help="an external archive's POST /frames URL (instead of the embedded one)"
    )
    run.add_argument("--token-file", type=Path, help="the external archive's upload token")
    run.add_argument("--ca-bundle", type=Path, help="CA bundle to verify the external archive")
    run.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="an origin (https://host[:port]) whose pages may call the cam's API; repeatable",
    )
    run.add_argument("--log-format", choices=("text", "json"), help="default: text")
    run.add_argument("--log-level", choices=LOG_LEVELS, help="default: info")


def _run_flags(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "data_dir": args.data_dir,
        "host": args.host,
        "port": args.port,
        "archive_port": args.archive_port,
        "archive_url": args.archive_url,
        "token_file": args.token_file,
        "ca_bundle": args.ca_bundle,
        "cors_origins": args.cors_origin,
        "log_format": args.log_format,
        "log_level": args.log_level,
        "camera": {
            "name": args.cam,
            "source": args.source,
            "fps": args.fps,
            "threshold": args.threshold,
        },
    }


def _cam_config(args: argparse.Namespace) -> CamConfig:
    """The cam's configuration, for commands beside ``run`` (only --data-dir/--config flags)."""
    config: CamConfig = load_cam_config({"data_dir": args.data_dir}, config_file=args.config).config
    return config


def _cam_data_dir(args: argparse.Namespace) -> Path:
    """The data directory the cam's configuration names (flag, env, or the file's)."""
    return _cam_config(args).data_dir


def _run(args: argparse.Namespace) -> int:
    from yardcam.run import run

    loaded = load_cam_config(_run_flags(args), config_file=args.config)
    return run(loaded.config, command=invoked_as(), sources=loaded.sources)


def _config_show(args: argparse.Namespace) -> int:
    print(render(load_cam_config(_run_flags(args), config_file=args.config)), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    name = " ".join(filter(None, [args.command, getattr(args, f"{args.command}_command", None)]))
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"yardcam {name}: configuration: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C outside the servers' own graceful stop (at a prompt, before they started):
        # nothing half-written is left (every file is written atomically), so no traceback.
        print(f"yardcam {name}: interrupted", file=sys.stderr)
        return 130

"""`destinations` console script. Subcommands live in pipelines/commands/."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import pipelines.commands as commands_pkg
import pipelines.config  # noqa: F401  (telemetry off)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="destinations",
        description="Trust Destinations: pupil destinations, NEET and careers warehouse for a multi-academy trust.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        importlib.import_module(f"pipelines.commands.{mod.name}").register(sub)
    return parser




def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: bad arguments -> exit 2 (contract)
        return int(exc.code or 0) and 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from pipelines.lib.privacy.perms import secure_process
    secure_process(tighten_tree=True)  # data directory readable by the service user only
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""Subcommands of the `destinations` CLI: each module here has `register(subparsers)`.

`register` adds one subparser and sets `func=callable(args) -> int` on it. Keep imports
inside the callable so `destinations --help` stays fast.
"""

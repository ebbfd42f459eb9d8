"""destinations run"""


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="materialise every asset in-process over the data directory")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from pipelines.runner import run_pipeline
    return run_pipeline()

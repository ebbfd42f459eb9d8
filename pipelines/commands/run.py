"""destinations run"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="ingest what changed, rebuild what depends on it, publish the serving snapshot",
        description="Incremental: only new or changed files are ingested and only what depends on them "
                    "is rebuilt; a run with nothing new stops in seconds. One run per data directory at "
                    "a time: a second one waits (or, with --no-wait, exits 75 naming the running one).")
    p.add_argument("--full", action="store_true", help="rebuild everything from raw/ (ignore what is already built)")
    p.add_argument("--no-wait", action="store_true", help="do not wait for a run already in progress")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from pipelines.runner import run_pipeline
    return run_pipeline(full=args.full, wait=0 if args.no_wait else None)

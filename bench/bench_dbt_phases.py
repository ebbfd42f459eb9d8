"""How a dbt build's own start went, from its JSON log: whether it re-parsed the project (and why),
when the first node started and when the command ended (seconds from dbt's first event; the
interpreter's import of dbt, ~1.5-2.3 s, comes before it).

    .venv/bin/python bench/bench_dbt_phases.py <dbt target dir>
"""
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dbt_path import last_command_events  # noqa: E402


def phases(target: Path) -> str:
    ev = last_command_events(target)
    if not ev:
        return "no dbt events"

    def at(e: dict) -> float:
        return datetime.fromisoformat(e["info"]["ts"].replace("Z", "+00:00")).timestamp() - t0
    t0 = datetime.fromisoformat(ev[0]["info"]["ts"].replace("Z", "+00:00")).timestamp()
    names = {e["info"]["name"]: e for e in reversed(ev)}      # first event of each name
    first = next((e for e in ev if e["info"]["name"] == "NodeStart"), None)
    if "UnableToPartialParse" in names:
        parse = "re-parsed the project: " + names["UnableToPartialParse"]["info"]["msg"]
    elif "PartialParsingSkipParsing" in names:
        parse = "parse reused (nothing changed)"
    elif "PartialParsingEnabled" in names:
        parse = "partial parse: " + names["PartialParsingEnabled"]["info"]["msg"]
    else:
        parse = "parsed from scratch (no earlier parse)"
    end = names.get("CommandCompleted")
    return (f"dbt: {parse}; first node at {at(first) if first else float('nan'):.2f}s, "
            f"command ended at {at(end) if end else float('nan'):.2f}s")


if __name__ == "__main__":
    print(phases(Path(sys.argv[1])))

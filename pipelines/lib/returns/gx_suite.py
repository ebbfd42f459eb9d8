"""expectations/destination_returns.json on loaded return rows, through the one GX runner."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pipelines.config as cfg
from pipelines.lib.intake import gx as gx_runner

SUITE_NAME = "destination_returns"


def suite_path():
    return cfg.EXPECTATIONS_DIR / f"{SUITE_NAME}.json"


def load_payload() -> dict:
    return json.loads(suite_path().read_text(encoding="utf-8"))


@dataclass
class SuiteFailure:
    expectation: str
    column: str | None
    rule: str
    message: str
    unexpected_count: int
    examples: list = field(default_factory=list)
    exception: str | None = None


@dataclass
class SuiteResult:
    success: bool
    evaluated: int
    failures: list[SuiteFailure]

    def markdown(self) -> str:
        if not self.failures:
            return f"All {self.evaluated} expectations passed."
        lines = ["| expectation | column | rule | failing rows | examples |", "|---|---|---|---|---|"]
        for f in self.failures:
            ex = ", ".join(str(x) for x in f.examples[:5]) or (f.exception or "")
            lines.append(f"| {f.expectation} | {f.column or ''} | {f.rule} | {f.unexpected_count} | {ex} |")
        return "\n".join(lines)


def validate_frame(frame, payload: dict | None = None) -> SuiteResult:
    """Validate a pandas frame (the typed rows of raw.destination_returns) against the suite."""
    result = gx_runner.validate(payload or load_payload(), frame, "SUMMARY")
    failures = []
    for r in result.results:
        if r.success:
            continue
        cfg_ = r.expectation_config
        meta = dict(cfg_.meta or {})
        res = r.result or {}
        exc = gx_runner.exception_text(r)
        failures.append(SuiteFailure(
            expectation=cfg_.type, column=cfg_.kwargs.get("column"), rule=meta.get("rule", cfg_.type),
            message=meta.get("message", ""), unexpected_count=int(res.get("unexpected_count") or 0),
            examples=list(res.get("partial_unexpected_list") or [])[:10], exception=exc))
    stats = result.statistics or {}
    return SuiteResult(success=bool(result.success), evaluated=int(stats.get("evaluated_expectations", 0)),
                       failures=failures)

"""The FSQ item -> construct mapping and positive-response rule (config/fsq_constructs.yaml)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

import pipelines.config as cfg

CONFIG_NAME = "fsq_constructs.yaml"


@dataclass(frozen=True)
class FsqConfig:
    scale: dict[int, str]            # code -> label, low to high
    positive: frozenset[str]         # labels that count as positive
    aliases: dict[str, str]          # lower-case spelling -> label
    constructs: dict[str, dict]      # construct -> {label, group, in_readiness_score}
    items: dict[str, dict]           # ITEM_ID (upper) -> {construct, text}
    bands: list[dict]                # [{band, min_pct, max_pct}]

    @property
    def labels(self) -> list[str]:
        return [self.scale[c] for c in sorted(self.scale)]

    def canonical_response(self, value) -> str | None:
        """Scale label for a raw answer, '' for blank, None when off the scale."""
        if value is None:
            return ""
        text = str(value).strip()
        if text == "" or text.lower() in {"nan", "none", "null", "n/a", "na", "not answered"}:
            return ""
        try:  # numeric code, also '4.0' from spreadsheets
            num = float(text)
            return self.scale.get(int(num)) if num == int(num) else None
        except ValueError:
            pass
        low = " ".join(text.lower().split())
        for label in self.scale.values():
            if label.lower() == low:
                return label
        return self.aliases.get(low)

    def score(self, label: str) -> int:
        return {v: k for k, v in self.scale.items()}[label]


def config_path() -> Path:
    p = cfg.config_dir() / CONFIG_NAME
    return p if p.exists() else cfg.PROJECT_ROOT / "config" / CONFIG_NAME


def load_fsq_config(path: Path | None = None) -> FsqConfig:
    with open(path or config_path(), encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    scale = {int(s["code"]): str(s["label"]) for s in raw["scale"]}
    positive = frozenset(str(x) for x in raw["positive_responses"])
    unknown = positive - set(scale.values())
    if unknown:
        raise ValueError(f"{CONFIG_NAME}: positive_responses {sorted(unknown)} are not labels on the scale")
    constructs = {str(k): dict(v) for k, v in raw["constructs"].items()}
    items = {}
    for item, spec in raw["items"].items():
        if spec["construct"] not in constructs:
            raise ValueError(f"{CONFIG_NAME}: item {item} maps to unknown construct {spec['construct']!r}")
        items[str(item).strip().upper()] = {"construct": spec["construct"], "text": spec.get("text", "")}
    aliases = {" ".join(str(k).lower().split()): str(v) for k, v in (raw.get("response_aliases") or {}).items()}
    bands = [dict(b) for b in raw.get("readiness_bands", [])]
    return FsqConfig(scale, positive, aliases, constructs, items, bands)

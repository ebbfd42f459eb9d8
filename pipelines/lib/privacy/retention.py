"""Retention: pseudonymise pupils past the retention period, strip and purge quarantine.

Policy (config/trust.yaml `retention:`):
- `pseudonymise_after_years` N: a pupil whose last leaving year ended (31 August) more than N
  years ago is pseudonymised everywhere: every UPN becomes a keyed pseudonym (HMAC-SHA256 with
  <data dir>/secrets/pseudonym.key, 0600) in the landed returns, FSQ exports, quarantined files
  and feedback; columns outside the return specification are emptied on that pupil's rows.
  The same pupil always gets the same pseudonym, so reconciliation across rounds still works,
  and the landed files stay loadable: the warehouse is rebuilt from them and every aggregate
  mart is unchanged.
- `quarantine_days` D: a rejected file's content is removed D days after it was submitted;
  its feedback (pseudonymised) is kept so the data-quality record stays.
Quarantine always keeps only the return's columns (`strip_to_spec`, called when a file is
quarantined and on every retention run).

A pseudonym is a well-formed UPN (valid check letter, so it loads like any other) whose LA
number starts with 0 (no real LA number does): `is_pseudonym` recognises it. A temporary UPN
stays temporary (final letter), so data-quality flags do not change.
"""
from __future__ import annotations

import csv
import hmac
import io
import json
import os
import re
import secrets as _secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pipelines.config as cfg
from pipelines.lib.returns import spec, store
from pipelines.lib.upn import LETTERS, check_letter, upn_problem

KEY_FILE = "pseudonym.key"
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][0-9]{11}[0-9A-Za-z](?![A-Za-z0-9])")
DATA_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".txt", ".tsv")


# ---------------------------------------------------------------- policy and key

@dataclass(frozen=True)
class Policy:
    pseudonymise_after_years: int | None = 3
    quarantine_days: int | None = 90

    def pupil_due(self, last_leaving_year: str, today: date) -> bool:
        if self.pseudonymise_after_years is None or not cfg.is_leaving_year(last_leaving_year):
            return False
        end = date(int(last_leaving_year[:4]) + 1 + self.pseudonymise_after_years, 8, 31)
        return today > end


def policy() -> Policy:
    r = cfg.trust_config().get("retention") or {}
    def _int(k, default):
        v = r.get(k, default)
        if v is None:
            return None
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"config/trust.yaml retention.{k} must be a whole number of "
                             f"{'years' if 'years' in k else 'days'} (or null to switch it off); got {v!r}")
        return v
    return Policy(_int("pseudonymise_after_years", 3), _int("quarantine_days", 90))


def key_path(p: cfg.Paths) -> Path:
    return p.root / "secrets" / KEY_FILE


def load_key(p: cfg.Paths, create: bool = True) -> bytes | None:
    kp = key_path(p)
    if kp.exists():
        return bytes.fromhex(kp.read_text().strip())
    if not create:
        return None
    kp.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(kp.parent, 0o700)
    fd = os.open(kp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(_secrets.token_hex(32) + "\n")
    return bytes.fromhex(kp.read_text().strip())


def norm_upn(v) -> str | None:
    if v is None:
        return None
    s = re.sub(r"\s+", "", str(v)).upper()
    return s or None


def pseudonym(upn: str, key: bytes) -> str:
    """Keyed, stable, well-formed pseudonym for a UPN (LA digits start with 0)."""
    u = norm_upn(upn) or ""
    h = int.from_bytes(hmac.new(key, u.encode(), "sha256").digest(), "big")
    body = "0" + f"{h % 10**10:010d}"
    h //= 10**10
    last = LETTERS[h % 23] if u[-1:].isalpha() else str(h % 10)
    return check_letter(body + last) + body + last


def is_pseudonym(upn) -> bool:
    u = norm_upn(upn)
    return bool(u) and len(u) == 13 and u[1] == "0" and upn_problem(u) is None


def substitute(text: str, mapping: dict[str, str]) -> tuple[str, int]:
    """Replace every UPN-shaped token found in `mapping` (case-insensitive). (text, replaced)."""
    n = 0

    def rep(m):
        nonlocal n
        new = mapping.get(m.group(0).upper())
        if new is None:
            return m.group(0)
        n += 1
        return new
    return _TOKEN_RE.sub(rep, text), n


# ---------------------------------------------------------------- file grids

class _Grid:
    """A CSV or XLSX file as editable rows, written back in its own format and encoding."""

    def __init__(self, path: Path, data: bytes | None = None):
        self.path = path
        self.data = path.read_bytes() if data is None else data
        self.is_xlsx = self.data.startswith(b"PK\x03\x04")
        if self.is_xlsx:
            import openpyxl
            self.wb = openpyxl.load_workbook(io.BytesIO(self.data))
        else:
            from pipelines.lib.intake.read import decode_text, sniff_delimiter as _sniff_delimiter
            text, enc = decode_text(self.data)
            if text is None:
                raise ValueError("not readable text")
            self.enc = enc
            self.eol = "\r\n" if "\r\n" in text[:4096] else "\n"
            self.delim = _sniff_delimiter(text)
            csv.field_size_limit(10 * 1024 * 1024)
            self.rows = [list(r) for r in csv.reader(io.StringIO(text, newline=""),
                                                      delimiter=self.delim, strict=False)]

    def sheets(self) -> list[tuple[str | None, list[list]]]:
        """[(sheet name, rows of cell values)] (one unnamed sheet for CSV)."""
        if not self.is_xlsx:
            return [(None, self.rows)]
        return [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in self.wb.worksheets]

    def cells(self, sheet: str | None):
        """Yield (row index 0-based, col index 0-based, value, setter)."""
        if not self.is_xlsx:
            for i, row in enumerate(self.rows):
                for j, v in enumerate(row):
                    yield i, j, v, (lambda val, r=row, j=j: r.__setitem__(j, val))
            return
        ws = self.wb[sheet]
        for i, row in enumerate(ws.iter_rows()):
            for j, c in enumerate(row):
                if c.value is not None:
                    yield i, j, c.value, (lambda val, c=c: setattr(c, "value", val))

    def delete_rows(self, sheet: str | None, indices: list[int]) -> None:
        for i in sorted(set(indices), reverse=True):
            if self.is_xlsx:
                self.wb[sheet].delete_rows(i + 1)
            else:
                del self.rows[i]

    def delete_cols(self, sheet: str | None, cols: list[int]) -> None:
        for j in sorted(set(cols), reverse=True):
            if self.is_xlsx:
                self.wb[sheet].delete_cols(j + 1)
            else:
                for r in self.rows:
                    if j < len(r):
                        del r[j]

    def keep_only_sheet(self, sheet: str | None) -> None:
        if self.is_xlsx:
            for ws in list(self.wb.worksheets):
                if ws.title != sheet:
                    self.wb.remove(ws)

    def dump(self) -> bytes:
        if self.is_xlsx:
            buf = io.BytesIO()
            self.wb.save(buf)
            return buf.getvalue()
        out = io.StringIO(newline="")
        csv.writer(out, delimiter=self.delim, lineterminator=self.eol).writerows(self.rows)
        return out.getvalue().encode(self.enc or "utf-8")


def _classify(header: list, aliases: dict[str, str]) -> dict[int, str | None]:
    out = {}
    for j, h in enumerate(header):
        if h is None or str(h).strip() == "":
            continue
        col = aliases.get(spec.norm_header(str(h).strip()))
        out[j] = None if col in spec.PERSONAL else col  # names go with the other extra columns
    return out


def _write_rewritten(path: Path, new: bytes, change: dict) -> None:
    """Write a rewritten file (0600) and its note; the submission keeps its identity."""
    submitted = store.submitted_sha(path)
    store.write_atomic(path, new)
    os.chmod(path, 0o600)
    note = store.retention_note(path)
    old = {}
    if note.exists():
        try:
            old = json.loads(note.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
    changes = old.get("changes", []) + [change]
    store.write_atomic(note, json.dumps({"submitted_sha256": submitted,
                                         "stored_sha256": store.sha256_bytes(new),
                                         "changes": changes}, indent=1).encode())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- quarantine

def strip_to_spec(path: Path) -> dict | None:
    """Rewrite a quarantined return keeping only the return specification's columns (all rows).
    A file whose columns cannot be recognised keeps no content at all (its feedback says why it
    was rejected). Idempotent. Returns what was removed, or None if nothing changed."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    note = store.retention_note(path)
    if note.exists():
        try:
            n = json.loads(note.read_text(encoding="utf-8"))
            if n.get("stored_sha256") == store.sha256_file(path) and any(
                    c.get("action") in ("stripped", "purged") for c in n.get("changes", [])):
                return None
        except ValueError:
            pass
    try:
        return _strip(path)
    except Exception as exc:  # noqa: BLE001 - a file we cannot take apart is not kept at all
        change = {"action": "stripped", "at": _now(), "kept": "nothing",
                  "reason": f"could not be rewritten ({type(exc).__name__})"}
        _write_rewritten(path, b"", change)
        return change


def _strip(path: Path) -> dict:
    data = path.read_bytes()
    from pipelines.lib.returns.reader import read_return
    res = read_return(data, path.name)
    grid = None
    if res.header_row is not None:
        try:
            grid = _Grid(path, data)
        except Exception:  # noqa: BLE001 - unreadable: keep nothing
            grid = None
    if grid is None:
        change = {"action": "stripped", "at": _now(), "kept": "nothing",
                  "reason": "no recognisable return columns"}
        _write_rewritten(path, b"", change)
        return change
    aliases = spec.load_aliases()
    sheet = res.sheet if grid.is_xlsx else None
    rows = dict(grid.sheets())[sheet]
    hi = res.header_row - 1
    header = rows[hi] if hi < len(rows) else []
    cls = _classify(header, aliases)
    extra = [j for j, c in cls.items() if c is None]
    width = max((len(r) for r in rows), default=0)
    unnamed = [j for j in range(len(header), width)] + [j for j in range(len(header)) if j not in cls]
    # title rows above the header may carry names too: keep only the header and the rows below
    grid.keep_only_sheet(sheet)
    drop = sorted(set(extra + [j for j in unnamed if any(
        j < len(r) and r[j] not in (None, "") for r in rows[hi + 1:])]))
    grid.delete_cols(sheet, drop)
    if hi > 0:
        grid.delete_rows(sheet, list(range(hi)))
    removed = [str(header[j]) if j < len(header) and header[j] is not None else f"column {j + 1}"
               for j in drop]
    change = {"action": "stripped", "at": _now(), "columns_removed": removed,
              "title_rows_removed": hi}
    _write_rewritten(path, grid.dump(), change)
    return change


# ---------------------------------------------------------------- inventory

def _fsq_keys() -> tuple[set[str], set[str]]:
    from pipelines.lib.careers.fsq import ALIASES as FSQ
    aliases = spec.load_aliases()
    upn = {k for k, v in FSQ.items() if v == "upn"} | {k for k, v in aliases.items() if v == "upn"}
    yg = {k for k, v in FSQ.items() if v == "year_group"}
    return upn, yg


def _expected_leaving_year(academic_year: str, year_group) -> str:
    """The leaving year of a pupil surveyed in `academic_year` in `year_group` (KS4 or 16-18)."""
    try:
        yg = int(float(str(year_group).lower().replace("year", "").strip()))
    except (TypeError, ValueError):
        return academic_year
    start = int(academic_year[:4])
    ahead = 11 - yg if yg <= 11 else max(13 - yg, 0)
    return cfg.leaving_year_label(start + max(ahead, 0))


def _fsq_pupils(path: Path, academic_year: str) -> dict[str, str]:
    """UPN -> expected leaving year for one FSQ export (any layout)."""
    upn_keys, yg_keys = _fsq_keys()
    out: dict[str, str] = {}
    try:
        sheets = _scan_sheets(path)
    except Exception:  # noqa: BLE001 - unreadable files hold nothing we can read either
        return out
    for rows in sheets:
        for hi, row in enumerate(rows[:30]):
            keys = [spec.norm_header(c) if c is not None else "" for c in row]
            ucol = next((j for j, k in enumerate(keys) if k in upn_keys), None)
            if ucol is None:
                continue
            ycol = next((j for j, k in enumerate(keys) if k in yg_keys), None)
            for r in rows[hi + 1:]:
                u = norm_upn(r[ucol]) if ucol < len(r) else None
                if u and u not in out:
                    yg = r[ycol] if ycol is not None and ycol < len(r) else None
                    out[u] = _expected_leaving_year(academic_year, yg)
            break
    return out


def _scan_sheets(path: Path) -> list[list[list]]:
    """Cell rows of every sheet, read-only (calamine for XLSX: much faster than openpyxl)."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        import fastexcel
        reader = fastexcel.read_excel(data)
        return [[list(r) for r in reader.load_sheet(n, header_row=None, dtypes="string").to_polars().rows()]
                for n in reader.sheet_names]
    return [rows for _, rows in _Grid(path, data).sheets()]


def _return_upns(path: Path) -> set[str]:
    from pipelines.lib.returns.reader import read_return
    res = read_return(path.read_bytes(), path.name)
    if res.table is None or "upn" not in res.table.columns:
        return set()
    return {u for u in (norm_upn(v) for v in res.table["upn"].to_list()) if u}


@dataclass
class Inventory:
    last_year: dict[str, str] = field(default_factory=dict)       # UPN -> last leaving year
    files: dict[Path, set[str]] = field(default_factory=dict)     # data file -> UPNs in it
    returns_files: set[Path] = field(default_factory=set)

    def see(self, path: Path, upn: str, year: str) -> None:
        self.files.setdefault(path, set()).add(upn)
        if year > self.last_year.get(upn, ""):
            self.last_year[upn] = year


def inventory(p: cfg.Paths) -> Inventory:
    inv = Inventory()
    rounds = cfg.round_ids()
    for root in (p.returns, p.quarantine):
        good, _ = store.scan_landing(root, rounds)
        for f in good:
            if f.path.stat().st_size == 0:
                continue
            inv.returns_files.add(f.path)
            for u in _return_upns(f.path):
                inv.see(f.path, u, f.leaving_year)
    if p.fsq.is_dir():
        for f in sorted(p.fsq.glob("*/*/*")):
            if f.is_file() and not f.name.startswith(".") and cfg.is_leaving_year(f.parent.name):
                for u, y in _fsq_pupils(f, f.parent.name).items():
                    inv.see(f, u, y)
    return inv


# ---------------------------------------------------------------- the run

@dataclass
class RetentionReport:
    as_of: date
    policy: Policy
    dry_run: bool
    pupils_by_leaving_year: dict[str, int] = field(default_factory=dict)
    files_pseudonymised: list[str] = field(default_factory=list)
    upn_cells_replaced: int = 0
    extra_values_removed: int = 0
    sidecars_updated: int = 0
    quarantine_stripped: list[str] = field(default_factory=list)
    quarantine_purged: list[str] = field(default_factory=list)
    rebuilt: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def pupils(self) -> int:
        return sum(self.pupils_by_leaving_year.values())

    def summary(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "dry_run": self.dry_run,
                "pseudonymise_after_years": self.policy.pseudonymise_after_years,
                "quarantine_days": self.policy.quarantine_days, "pupils_pseudonymised": self.pupils,
                "pupils_by_last_leaving_year": self.pupils_by_leaving_year,
                "files_pseudonymised": len(self.files_pseudonymised),
                "upn_cells_replaced": self.upn_cells_replaced,
                "extra_values_removed": self.extra_values_removed,
                "sidecars_updated": self.sidecars_updated,
                "quarantine_stripped": len(self.quarantine_stripped),
                "quarantine_purged": len(self.quarantine_purged), "rebuilt": self.rebuilt,
                "problems": self.problems}

    def lines(self) -> list[str]:
        verb = "would be" if self.dry_run else "were"
        pol = self.policy
        out = [f"Retention as of {self.as_of}: pupils pseudonymised "
               f"{pol.pseudonymise_after_years} years after their last leaving year; "
               f"rejected files' content removed after {pol.quarantine_days} days."]
        if self.pupils:
            years = ", ".join(f"{y}: {n}" for y, n in sorted(self.pupils_by_leaving_year.items()))
            out.append(f"  {self.pupils} pupils {verb} pseudonymised (last leaving year {years})")
            if self.dry_run:
                out.append(f"  {len(self.files_pseudonymised)} files would be rewritten")
            else:
                out.append(f"  {len(self.files_pseudonymised)} files rewritten, {self.upn_cells_replaced} "
                           f"UPN cells replaced, {self.extra_values_removed} values outside the return "
                           f"specification removed, {self.sidecars_updated} feedback files updated")
        else:
            out.append("  no pupil is past the retention period")
        out.append(f"  {len(self.quarantine_stripped)} quarantined files {verb} stripped to the "
                   f"return's columns; {len(self.quarantine_purged)} {verb} emptied (older than "
                   f"{pol.quarantine_days} days; feedback kept)")
        if self.rebuilt is not None:
            out.append("  warehouse rebuilt from the landing zone" if self.rebuilt
                       else "  warehouse NOT rebuilt: run `destinations run`")
        out += [f"  problem: {x}" for x in self.problems]
        return out


def _feedback_files(p: cfg.Paths) -> list[Path]:
    out = []
    for root in (p.returns, p.quarantine, p.feedback, p.fsq, p.compass):
        if root.is_dir():
            for f in root.rglob("*"):
                if f.is_file() and (".feedback." in f.name) and not f.name.startswith("."):
                    out.append(f)
    return out


def _rewrite_pupils(path: Path, mapping: dict[str, str], is_return: bool) -> tuple[bytes, int, int]:
    """(new bytes, UPN cells replaced, extra values removed) for one data file."""
    grid = _Grid(path)
    replaced = removed = 0
    extra_cols: set[int] = set()
    hi, sheet = None, None
    if is_return:
        from pipelines.lib.returns.reader import read_return
        res = read_return(grid.data, path.name)
        if res.header_row is not None:
            sheet = res.sheet if grid.is_xlsx else None
            hi = res.header_row - 1
            rows = dict(grid.sheets())[sheet]
            cls = _classify(rows[hi], spec.load_aliases()) if hi < len(rows) else {}
            extra_cols = {j for j, c in cls.items() if c is None}
            extra_cols |= {j for j in range(len(rows[hi]) if hi < len(rows) else 0,
                                            max((len(r) for r in rows), default=0))}
    for name, rows in grid.sheets():
        due_rows = set()
        for i, j, v, setter in list(grid.cells(name)):
            u = norm_upn(v) if isinstance(v, str) else None
            if u in mapping:
                setter(mapping[u])
                replaced += 1
                due_rows.add(i)
        if name == sheet and hi is not None and extra_cols:
            for i, j, v, setter in list(grid.cells(name)):
                if i > hi and i in due_rows and j in extra_cols and v not in (None, ""):
                    setter("" if not grid.is_xlsx else None)
                    removed += 1
    return grid.dump(), replaced, removed


def apply(data_dir: Path | None = None, *, today: date | None = None, dry_run: bool = False,
          pol: Policy | None = None, rebuild: Callable[[Path], int] | None = None,
          echo: Callable[[str], None] = lambda s: None) -> RetentionReport:
    """Apply the retention policy to the data directory. `rebuild(root)` rebuilds the warehouse
    from the landing zone (exit code); without it the caller must run the pipeline."""
    p = cfg.paths(data_dir)
    pol = pol or policy()
    today = today or date.today()
    rep = RetentionReport(as_of=today, policy=pol, dry_run=dry_run)
    inv = inventory(p)
    due = sorted(u for u, y in inv.last_year.items()
                 if not is_pseudonym(u) and pol.pupil_due(y, today))
    for u in due:
        y = inv.last_year[u]
        rep.pupils_by_leaving_year[y] = rep.pupils_by_leaving_year.get(y, 0) + 1
    key = load_key(p, create=not dry_run) if due else None
    mapping: dict[str, str] = {}
    if due:
        key = key or _secrets.token_bytes(32)  # dry run without a key yet: counts only
        mapping = {u: pseudonym(u, key) for u in due}
        taken = set(inv.last_year) - set(due)
        clash = len(set(mapping.values())) != len(mapping) or bool(set(mapping.values()) & taken)
        if clash:
            rep.problems.append("two pupils would get the same pseudonym; nothing was changed "
                                "(report this: the pseudonym length must grow)")
            return rep
    files = sorted(f for f, us in inv.files.items() if us & set(mapping))
    for f in files:
        rel = store.relpath(f, p.root)
        rep.files_pseudonymised.append(rel)
        if dry_run:
            continue
        try:
            new, n, removed = _rewrite_pupils(f, mapping, f in inv.returns_files)
        except Exception as exc:  # noqa: BLE001
            rep.problems.append(f"{rel}: could not be rewritten ({type(exc).__name__}: {exc})")
            continue
        rep.upn_cells_replaced += n
        rep.extra_values_removed += removed
        _write_rewritten(f, new, {"action": "pseudonymised", "at": _now(), "upn_cells": n,
                                  "extra_values_removed": removed})
        echo(f"pseudonymised {rel}")

    # quarantine: strip every file to the return's columns, empty the old ones
    cutoff = datetime.combine(today, datetime.min.time(), timezone.utc) - timedelta(
        days=pol.quarantine_days or 0)
    good, _ = store.scan_landing(p.quarantine, cfg.round_ids())
    purge_tokens: dict[str, str] = {}
    for q in good:
        rel = store.relpath(q.path, p.root)
        meta = store.read_sidecar(q.path) or {}
        try:
            at = datetime.fromisoformat(meta["submitted_at"])
            at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        except (KeyError, ValueError, TypeError):
            at = datetime.fromtimestamp(q.path.stat().st_mtime, timezone.utc)
        if pol.quarantine_days is not None and at < cutoff and q.path.stat().st_size > 0:
            rep.quarantine_purged.append(rel)
            if not dry_run:
                key = key or load_key(p)
                for side in (store.sidecar(q.path, s) for s in store.SIDECAR_SUFFIXES):
                    if side.exists():
                        for m in _TOKEN_RE.finditer(side.read_text(encoding="utf-8", errors="replace")):
                            t = m.group(0).upper()
                            if not is_pseudonym(t) and upn_problem(t) is None:
                                purge_tokens[t] = pseudonym(t, key)
                _write_rewritten(q.path, b"", {"action": "purged", "at": _now(),
                                               "older_than_days": pol.quarantine_days})
            continue
        if dry_run:
            if q.path.stat().st_size > 0 and not store.retention_note(q.path).exists():
                rep.quarantine_stripped.append(rel)
            continue
        if strip_to_spec(q.path):
            rep.quarantine_stripped.append(rel)
    if p.quarantine.is_dir() and pol.quarantine_days is not None:
        for f in p.quarantine.glob("[a-z]*/**/*"):  # careers copies (quarantine/fsq, /compass)
            if f.is_file() and not f.name.startswith(".") and ".feedback." not in f.name:
                if datetime.fromtimestamp(f.stat().st_mtime, timezone.utc) < cutoff:
                    rep.quarantine_purged.append(store.relpath(f, p.root))
                    if not dry_run:
                        f.unlink()

    # feedback, sidecars: the same substitution as text
    subs = {**mapping, **purge_tokens}
    if subs and not dry_run:
        for f in _feedback_files(p):
            text = f.read_text(encoding="utf-8", errors="replace")
            new, n = substitute(text, subs)
            if n:
                store.write_atomic(f, new.encode("utf-8"))
                os.chmod(f, 0o600)
                rep.sidecars_updated += 1

    changed = bool(rep.files_pseudonymised or rep.quarantine_purged or rep.sidecars_updated)
    if not dry_run and changed and rebuild is not None:
        rep.rebuilt = rebuild_warehouse(p, rebuild, echo)
        if not rep.rebuilt:
            rep.problems.append("the warehouse rebuild failed; the previous warehouse was restored "
                                "and still holds the old values: fix the run and retry")
    if not dry_run:
        from pipelines.lib.privacy import audit
        audit.record("retention_run", user=os.environ.get("USER") or "pipeline",
                     outcome="ok" if not rep.problems else "problems", data_dir=p.root,
                     **rep.summary())
    return rep


def rebuild_warehouse(p: cfg.Paths, run: Callable[[Path], int], echo=lambda s: None) -> bool:
    """Rebuild the warehouse from the landing zone into a fresh file (no stale pages keep
    old values); the old file is restored if the run fails, deleted if it succeeds."""
    aside = p.warehouse_dir / ".before-retention"
    if aside.exists():
        import shutil
        shutil.rmtree(aside)
    aside.mkdir(parents=True, mode=0o700)
    moved = []
    for f in (p.warehouse, p.warehouse.with_name(p.warehouse.name + ".wal")):
        if f.exists():
            os.replace(f, aside / f.name)
            moved.append(f)
    echo("rebuilding the warehouse from the landing zone ...")
    ok = run(p.root) == 0
    import shutil
    if ok:
        shutil.rmtree(aside)
        from pipelines.lib.publish import collect_garbage
        collect_garbage(p.serving, keep=1, grace_seconds=0)  # older snapshots still hold the old UPNs
    else:
        for f in moved:
            os.replace(aside / f.name, f)
        shutil.rmtree(aside, ignore_errors=True)
    return ok

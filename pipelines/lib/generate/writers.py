"""File writers for academy returns: clean CSV and the messy MIS variants."""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import polars as pl

from pipelines.config import destination_codes

RETURN_COLUMNS = ["upn", "year_group", "sex", "disadvantaged", "sen_provision", "destination_code",
                  "fsm_eligible", "looked_after", "ethnicity", "route", "provider", "provider_id",
                  "level", "september_guarantee", "consent_follow_up", "date_ascertained"]
OPTIONAL_FILE_COLUMNS = ["pupil_name"]  # written when the frame has them (MIS exports carry names)

# Headers as common school MIS exports name them (matched by the returns reader's aliases).
MIS_HEADERS = {
    "upn": "Unique Pupil Number", "year_group": "NC Year", "sex": "Gender",
    "disadvantaged": "Pupil Premium", "sen_provision": "SEN Status",
    "destination_code": "Destination", "fsm_eligible": "FSM Eligible",
    "looked_after": "Looked After", "ethnicity": "Ethnicity", "route": "Route",
    "provider": "Provider", "provider_id": "Provider ID", "level": "Level",
    "september_guarantee": "September Guarantee", "consent_follow_up": "Consent Follow Up",
    "date_ascertained": "Date Ascertained", "pupil_name": "Name",
}
SEX_LABELS = {"M": "Male", "F": "Female"}
SEN_LABELS = {"N": "No SEN", "K": "SEN support", "E": "EHC plan"}

# Formats a messy academy uses for every file.
FORMATS = ("csv", "mis_labels", "cp1252", "xlsx", "utf8_bom")


def file_name(fmt: str, urn: str, year: str, round_id: str) -> str:
    return {
        "csv": f"destinations_{urn}_{year}_{round_id}.csv",
        "mis_labels": f"MIS export {round_id} {year}.csv",
        "cp1252": f"{urn} destinations {round_id}.csv",
        "xlsx": f"Destinations return {year} {round_id}.xlsx",
        "utf8_bom": f"destinations_{urn}_{year}_{round_id}.csv",
    }[fmt]


def _labels(df: pl.DataFrame) -> pl.DataFrame:
    """Codes replaced by the labels an MIS export shows (all accepted by the contract)."""
    code_labels = {c: row["label"] for c, row in destination_codes().items()}
    return df.with_columns(
        pl.col("sex").replace(SEX_LABELS),
        pl.col("sen_provision").replace(SEN_LABELS),
        pl.col("destination_code").replace(code_labels),
    )


def render(df: pl.DataFrame, fmt: str, *, title: str = "", created: datetime | None = None) -> bytes:
    """File bytes for one return (df has RETURN_COLUMNS as strings, nulls for blanks)."""
    cols = RETURN_COLUMNS + [c for c in OPTIONAL_FILE_COLUMNS if c in df.columns]
    if df.columns != cols:
        df = df.select(cols)
    if fmt == "csv":
        return df.write_csv().encode("utf-8")
    if fmt == "utf8_bom":
        return b"\xef\xbb\xbf" + df.write_csv().encode("utf-8")
    if fmt == "mis_labels":
        out = _labels(df).rename({k: v for k, v in MIS_HEADERS.items() if k in df.columns})
        return out.write_csv().encode("utf-8")
    if fmt == "cp1252":
        text = df.write_csv(line_terminator="\r\n")
        return text.encode("cp1252")
    if fmt == "xlsx":
        return _xlsx(df, title, created or datetime(2026, 1, 1))
    raise ValueError(f"unknown format {fmt}")


def _xlsx(df: pl.DataFrame, title: str, created: datetime) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"title": title, "author": "MIS export", "created": created})
    ws = wb.add_worksheet("Return")
    bold = wb.add_format({"bold": True})
    ws.write_string(0, 0, "Northstar Learning Trust – destinations return", bold)
    ws.write_string(1, 0, title)
    for j, col in enumerate(df.columns):
        ws.write_string(2, j, col, bold)
    for i, row in enumerate(df.iter_rows(), start=3):
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            if j == 1:  # year_group as a number, as MIS exports write it
                ws.write_number(i, j, int(v))
            else:
                ws.write_string(i, j, v)
    ins = wb.add_worksheet("Instructions")
    for i, line in enumerate([
        "How to complete this return",
        "One row per leaver. Codes: see the destination code list (NCCIS activity codes).",
        "sex M/F, disadvantaged Y/N, sen_provision N/K/E, dates as YYYY-MM-DD.",
        "Do not change the column headings in row 3.",
    ]):
        ins.write_string(i, 0, line)
    wb.close()
    return buf.getvalue()


def write_file(path: Path, data: bytes, mtime: float) -> None:
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))

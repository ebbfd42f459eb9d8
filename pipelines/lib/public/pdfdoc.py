"""A PDF document set up like the trustee pack (same fonts, margins and footer)."""
from __future__ import annotations

from pathlib import Path

from pipelines.lib.report import pdf as report_pdf
from pipelines.lib.report.pdf import _PDF


def new_pdf(title: str, author: str, footer: str) -> _PDF:
    """The trustee pack's document setup, in English for screen readers."""
    return report_pdf.new_pdf(title, author, footer, lang="en-GB")


def save_pdf(pdf: _PDF, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pdf.output(str(tmp))
    tmp.replace(path)
    return path


class BuiltDocuments:
    """What each document in a folder was last rendered from (`<folder>/.built.json`: file name ->
    digest of its content). A document whose content is unchanged and whose files exist is not
    rendered again, so after one academy's correction only the documents it changes are redrawn.
    A digest is recorded only after its file is written; a killed run re-renders."""

    NAME = ".built.json"

    def __init__(self, folder: Path):
        import json
        self.folder = folder
        try:
            self.digests: dict[str, str] = json.loads((folder / self.NAME).read_text())
        except (OSError, ValueError):
            self.digests = {}

    @staticmethod
    def digest(*content) -> str:
        """SHA-256 of the content's repr (dataclasses, lists, numbers and strings repr stably)."""
        import hashlib
        return hashlib.sha256(repr(content).encode()).hexdigest()

    def unchanged(self, key: str, digest: str, *files: Path) -> bool:
        return self.digests.get(key) == digest and all(f.exists() for f in files)

    def record(self, key: str, digest: str) -> None:
        self.digests[key] = digest

    def save(self) -> None:
        import json
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{self.NAME}.tmp"
        tmp.write_text(json.dumps(self.digests, sort_keys=True, indent=0))
        tmp.replace(self.folder / self.NAME)

"""What each document in a folder was last rendered from: one mechanism for the trustee pack,
the governor packs and the public statements, so a run re-renders only documents whose content
(or inputs) changed."""
from __future__ import annotations

import functools
from pathlib import Path


@functools.cache
def _code_fingerprint() -> str:
    """SHA-256 of the source of the packages that lay documents out (report, public)."""
    import hashlib
    h = hashlib.sha256()
    lib = Path(__file__).resolve().parents[1]
    for pkg in ("report", "public"):
        for f in sorted((lib / pkg).glob("*.py")):
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


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
        """SHA-256 of the content's repr (dataclasses, lists, numbers and strings repr stably) and
        of the code that draws documents (a change to it draws them all again)."""
        import hashlib
        return hashlib.sha256(repr((_code_fingerprint(), content)).encode()).hexdigest()

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

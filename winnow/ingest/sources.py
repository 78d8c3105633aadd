"""Find the input files of a source for one partition."""

from __future__ import annotations

import glob
from pathlib import Path

from schemas.recipe import SourceSpec

TEXT_SUFFIXES = (".txt", ".md")


def resolve_source_files(source: SourceSpec, partition: str, base_dir: Path) -> list[Path]:
    """Files of ``source`` for ``partition``, sorted, so every run reads them in one order.

    ``path`` may hold ``{partition}`` and glob patterns; relative paths resolve
    against ``base_dir`` (the recipe's folder). A text source names a folder whose
    ``.txt``/``.md`` files are each one document. No match means no files, not an error:
    a source may have nothing on a given night.
    """
    pattern = source.path.replace("{partition}", partition)
    if not Path(pattern).is_absolute():
        pattern = str(base_dir / pattern)
    matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    if source.format != "text":
        return [p for p in matches if p.is_file()]
    files: list[Path] = []
    for m in matches:
        if m.is_dir():
            files.extend(sorted(f for f in m.rglob("*") if f.is_file() and f.suffix.lower() in TEXT_SUFFIXES))
        elif m.suffix.lower() in TEXT_SUFFIXES:
            files.append(m)
    return files

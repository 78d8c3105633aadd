"""Find the input files of a source for one partition, and the links not followed."""

from __future__ import annotations

import errno
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from schemas.recipe import SourceSpec

TEXT_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class SkippedLink:
    """A symbolic link in a text folder that was not read, and why (a quarantine reason code)."""

    path: Path
    target: str
    reason: str  # link_outside_source | dangling_link | link_loop | directory_link_inside
    message: str


@dataclass
class SourceFiles:
    """The files to read, in order, and every link skipped on the way."""

    files: list[Path] = field(default_factory=list)
    skipped: list[SkippedLink] = field(default_factory=list)


def resolve_source_files(source: SourceSpec, partition: str, base_dir: Path) -> SourceFiles:
    """Files of ``source`` for ``partition``, sorted, so every run reads them in one order.

    ``path`` may hold ``{partition}`` and glob patterns; relative paths resolve
    against ``base_dir`` (the recipe's folder). A text source names a folder whose
    ``.txt``/``.md`` files are each one document. Links inside a text folder are read
    only if they stay inside it (``follow_outside_links`` lifts that); a dangling link,
    a loop, or a link out of the folder is listed in ``skipped``, never dropped silently.
    """
    pattern = source.path.replace("{partition}", partition)
    if not Path(pattern).is_absolute():
        pattern = str(base_dir / pattern)
    matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    if source.format != "text":
        return SourceFiles([p for p in matches if p.is_file()])
    found = SourceFiles()
    for m in matches:
        if m.is_dir():
            _walk_text_folder(m, source.follow_outside_links, found)
        elif m.suffix.lower() in TEXT_SUFFIXES:
            found.files.append(m)
    return found


def _walk_text_folder(root: Path, follow_outside: bool, found: SourceFiles) -> None:
    real_root = root.resolve()
    files: list[Path] = []
    pending = [root]
    seen = {real_root}  # folders entered, so links between outside folders cannot loop
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                path = Path(entry.path)
                if not entry.is_symlink():
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(path)
                    elif path.suffix.lower() in TEXT_SUFFIXES:
                        files.append(path)
                    continue
                target = os.readlink(path)
                why = _link_problem(path, target, real_root, follow_outside)
                if why is not None:
                    found.skipped.append(SkippedLink(path, target, *why))
                elif path.is_dir():
                    if path.resolve() in seen:
                        found.skipped.append(
                            SkippedLink(
                                path, target, "link_loop", f"symbolic link {path} -> {target} re-enters a folder"
                            )
                        )
                    else:
                        seen.add(path.resolve())
                        pending.append(path)
                elif path.suffix.lower() in TEXT_SUFFIXES:
                    files.append(path)
    found.files.extend(sorted(files))


def _link_problem(path: Path, target: str, real_root: Path, follow_outside: bool) -> tuple[str, str] | None:
    """Why the link at ``path`` is not followed, as (reason, message), or None to follow it."""
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        return "dangling_link", f"symbolic link {path} -> {target} points at nothing"
    except (RuntimeError, OSError) as exc:  # RuntimeError on 3.11, OSError(ELOOP) later
        if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
            return "link_loop", f"symbolic link {path} -> {target} is a loop"
        raise
    inside = real == real_root or real.is_relative_to(real_root)
    if not inside and not follow_outside:
        return (
            "link_outside_source",
            f"symbolic link {path} -> {real} leaves the source folder {real_root}; not followed "
            "(set follow_outside_links: true on the source to read it)",
        )
    if real.is_dir() and inside:
        return (
            "directory_link_inside",
            f"symbolic link {path} -> {real} is a folder inside the source folder, whose files are read "
            "once already; not followed",
        )
    return None

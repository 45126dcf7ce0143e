"""What nasviz owns in a directory a user gave it, so it never touches a file it did not write.

Every directory nasviz writes into carries a small manifest, :data:`MARKER` (``.nasviz.json``),
listing the names nasviz wrote there. Before a write, :func:`claim` checks each name it is about
to write, replace or set aside: a file that exists there is nasviz's when the manifest lists it or
when it is in one of nasviz's own formats (:data:`RECOGNISERS`: a training checkpoint, its checksum
side file, a run's ``config.json``; this covers directories written before the manifest existed).
Any other file is the user's: :func:`claim` raises ``FileExistsError`` naming it (the command line
exits 2), and nothing in the directory is renamed, moved or overwritten. A damaged file of nasviz's
own is still set aside and recomputed by the caller, as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from nasviz.checkpoint import is_checksum_file, is_nasviz_checkpoint
from nasviz.io import atomic_write_text
from nasviz.validate import short_path

#: the manifest file nasviz keeps in every directory it writes into
MARKER = '.nasviz.json'


def _json_with(keys: set[str]) -> Callable[[Path], bool]:
    def check(path: Path) -> bool:
        try:
            obj = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, ValueError, UnicodeDecodeError):
            return False
        return isinstance(obj, dict) and keys <= set(obj)

    return check


def _commented_csv(path: Path) -> bool:
    try:
        with open(path, encoding='utf-8') as f:
            return f.readline().startswith('# {')
    except (OSError, UnicodeDecodeError):
        return False


#: file name -> test that a file of that name is in nasviz's own format (besides checkpoints,
#: ``*.pt``, and their side files, ``*.pt.sha256``)
RECOGNISERS: dict[str, Callable[[Path], bool]] = {
    'config.json': _json_with({'train', 'mask'}),
    'run.json': _json_with({'partition'}),
    'split.json': _json_with({'edge'}),
    'eval.csv': _commented_csv,
    'report.json': _json_with({'runs', 'profile', 'parameters', 'metadata'}),
}


def owned_names(directory: str | os.PathLike) -> set[str]:
    """The names the manifest of ``directory`` lists (empty when it has none or it is unreadable)."""
    try:
        obj = json.loads((Path(directory) / MARKER).read_text(encoding='utf-8'))
    except (OSError, ValueError, UnicodeDecodeError):
        return set()
    files = obj.get('files') if isinstance(obj, dict) and obj.get('written_by') == 'nasviz' else None
    return {f for f in files if isinstance(f, str)} if isinstance(files, list) else set()


def is_owned(path: str | os.PathLike) -> bool:
    """True when nasviz wrote ``path``: its directory's manifest lists it, or it is in one of
    nasviz's formats for its name (a missing file is nobody's: False)."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        return False
    if path.name == MARKER:
        return bool(owned_names(path.parent)) or _json_with({'written_by'})(path)
    if path.is_symlink():
        return False  # nasviz never writes links
    if path.name in owned_names(path.parent):
        return True
    if path.suffix == '.pt':  # any checkpoint: ours when intact, or when its side file is ours
        return is_checksum_file(path.with_name(path.name + '.sha256')) or is_nasviz_checkpoint(path)
    if path.name.endswith('.pt.sha256'):  # a side file: ours in our format, or beside our checkpoint
        return is_checksum_file(path) or is_nasviz_checkpoint(path.with_name(path.name[: -len('.sha256')]))
    check = RECOGNISERS.get(path.name)
    return check is not None and check(path)


def foreign_files(directory: str | os.PathLike, names: Iterable[str]) -> list[Path]:
    """Those of ``names`` that exist in ``directory`` and are not nasviz's."""
    d = Path(directory)
    return [d / n for n in names if ((d / n).exists() or (d / n).is_symlink()) and not is_owned(d / n)]


def claim(
    directory: str | os.PathLike,
    names: Iterable[str],
    what: str = 'directory',
    record: bool = True,
    vouched_by: str | None = None,
) -> Path:
    """Make sure nasviz may write ``names`` into ``directory`` and record them in its manifest.

    ``FileExistsError`` naming the first file there that nasviz did not write (``what`` names the
    option or argument, e.g. ``'--out'``); nothing is touched then. Otherwise the directory is
    created if needed and its manifest lists ``names`` before any of them is written, so a kill
    between the two leaves no file of nasviz's unrecognised (``record=False``: check only, as
    the command line does before any work). ``vouched_by`` names a file whose presence in
    nasviz's format shows that nasviz wrote the others there before manifests existed (a
    report's ``report.json``). Returns the directory."""
    d = Path(directory)
    names = list(names)
    marker = d / MARKER
    if (marker.exists() or marker.is_symlink()) and not is_owned(marker):
        raise FileExistsError(
            f'{what}: {short_path(marker)} exists and was not written by nasviz; '
            'nasviz keeps its manifest there: move that file away or choose another directory'
        )
    vouched = vouched_by is not None and vouched_by not in owned_names(d) and is_owned(d / vouched_by)
    foreign = [] if vouched else foreign_files(d, names)
    if foreign:
        f = foreign[0]
        more = f' (and {len(foreign) - 1} more: {", ".join(p.name for p in foreign[1:])})' if len(foreign) > 1 else ''
        raise FileExistsError(
            f'{what}: {short_path(f)} was not written by nasviz{more}; nasviz never renames, '
            'moves or overwrites a file it did not write: move it away or choose another directory'
        )
    have = owned_names(d)
    if record and not set(names) <= have:
        atomic_write_text(
            marker, json.dumps({'written_by': 'nasviz', 'files': sorted(have | set(names))}, indent=1) + '\n'
        )
    return d

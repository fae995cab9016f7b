"""The language detector's model for the daemon, prepared once and kept in a cache directory.

py3langid ships its model compressed, with every language's columns: decompressing it and choosing
inboxd's candidates takes about a second and a half and some 60 MiB at its peak, at every start. The
prepared model (the candidates' columns, the tokenizer's tables as raw machine words) loads in a fraction
of that, mapped from its files rather than read. It scores exactly as the shipped one.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import shutil
import sys
import tempfile
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

from inboxd.core.language import CANDIDATES, shipped_identifier, use_detector

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

# Part of the cache's name: a new layout is prepared afresh, never read as the old one.
CACHE_VERSION = 1


def _cache_path() -> Path | None:
    """Where the prepared model is kept: ``INBOXD_CACHE_DIR``, systemd's ``CacheDirectory=`` (the unit's
    ``/var/cache/inboxd``), else the user's cache directory."""
    import py3langid

    configured = os.environ.get("INBOXD_CACHE_DIR") or os.environ.get("CACHE_DIRECTORY")
    if configured:
        base = Path(configured)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "inboxd"
    key = repr((CACHE_VERSION, py3langid.__version__, CANDIDATES, sys.byteorder))
    return base / f"language-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


# The tokenizer's tables, kept as raw machine words: mapped into memory as they are, for py3langid to walk.
_TABLES = {"nextmove": "I", "nextmove_row": "H", "out_feat": "i"}


def _prepare(path: Path | None) -> None:
    """Choose the candidates' columns from the shipped model and keep them in ``path`` (when it can be written)."""
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    if path is None:
        raise OSError("no cache directory")
    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    indices = [i for i, c in enumerate(classes) if c in set(CANDIDATES)]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=".language-"))
    try:
        np.save(temporary / "ptc.npy", np.ascontiguousarray(np.asarray(ptc)[:, indices]))
        np.save(temporary / "pc.npy", np.asarray(pc)[indices])
        lengths = {}
        for name, values in (("nextmove", nextmove), ("nextmove_row", row), ("out_feat", array("i", output))):
            typed = array(_TABLES[name], values) if values.typecode != _TABLES[name] else values
            with open(temporary / f"{name}.bin", "wb") as out:
                typed.tofile(out)
            lengths[name] = len(typed)
        # Written last: a cache without it (or with other lengths) is prepared again.
        manifest = {"classes": [classes[i] for i in indices], "lengths": lengths}
        (temporary / "manifest.json").write_text(json.dumps(manifest))
        os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _read(path: Path) -> LanguageIdentifier:
    """The identifier over the prepared model, its tables mapped from the files: only the pages a text's walk
    touches are read into memory (a few MiB for a day's mail, not the 45 MiB of the tables)."""
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    manifest = json.loads((path / "manifest.json").read_text())
    tables: dict[str, memoryview] = {}
    for name, code in _TABLES.items():
        file = path / f"{name}.bin"
        length = int(manifest["lengths"][name])
        with open(file, "rb") as source:
            size = os.fstat(source.fileno()).st_size
            if size != length * array(code).itemsize or not size:
                raise ValueError(f"{file}: {size} bytes, not {length * array(code).itemsize}")
            mapped = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ)
        tables[name] = memoryview(mapped).cast(code)  # type: ignore[call-overload]
    classes = [str(c) for c in manifest["classes"]]
    ptc = np.load(path / "ptc.npy", mmap_mode="r", allow_pickle=False)
    pc = np.load(path / "pc.npy", allow_pickle=False)
    if ptc.ndim != 2 or ptc.shape[1] != len(classes) or pc.shape != (len(classes),):
        raise ValueError(f"{path}: the model's shapes do not match its manifest")
    return LanguageIdentifier(ptc, pc, classes, tables["nextmove"], tables["out_feat"], norm_probs=True,
                              tk_row=tables["nextmove_row"])


def _load(path: Path | None) -> LanguageIdentifier:
    """The candidates' identifier from the cache; prepared (and kept there when it can be written) on a miss."""
    if path is not None:
        try:
            return _read(path)
        except (OSError, ValueError, KeyError, EOFError):
            shutil.rmtree(path, ignore_errors=True)  # missing, unreadable or damaged: prepare it again
    try:
        _prepare(path)
        assert path is not None
        return _read(path)
    except OSError:
        pass  # a read-only home: prepared in memory, on every start
    return shipped_identifier()


def use_cached_detector() -> None:
    """Make the detector from the cache directory (preparing it there on the first start) when it is loaded."""
    try:
        path = _cache_path()
    except (RuntimeError, OSError):  # no home directory
        path = None
    use_detector(lambda: _load(path))

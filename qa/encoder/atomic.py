"""Writes a model folder into the cache atomically: under a lock, into a temporary sibling renamed into place."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path


def build_folder(target: Path, is_valid: Callable[[Path], bool], write: Callable[[Path], None],
                 on_invalid: Callable[[Path], None] | None = None) -> Path:
    """``target`` as ``write`` makes it, unless a valid one is there; a half-written folder is never left
    under its name. ``on_invalid`` hears of a folder that is there but not valid before it is replaced."""
    if is_valid(target):
        return target
    from filelock import FileLock  # only to write: a valid folder is the common case, and the import costs

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_prefix = f".{target.name}.tmp-"
    # The lock only saves a second process from converting too; the rename alone keeps it correct.
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if is_valid(target):
            return target
        for stale in target.parent.glob(f"{tmp_prefix}*"):
            shutil.rmtree(stale, ignore_errors=True)
        if target.exists():
            if on_invalid is not None:
                on_invalid(target)
            shutil.rmtree(target)
        tmp = target.parent / f"{tmp_prefix}{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
        try:
            write(tmp)
            try:
                os.replace(tmp, target)
            except OSError:
                if not is_valid(target):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target

"""Files only their owner may read (the proxy key, saved cloud keys), written so that no reader
ever sees half of one and no one else can read them at any moment."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def private_temporary(target: Path, text: str) -> Iterator[str]:
    """A file beside ``target`` holding ``text``, on disk, mode 0600 from its creation
    (``mkstemp``), in a directory made 0700 when it is missing; gone on exit unless it was moved
    into place meanwhile."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        yield temporary
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def replace_private(target: Path, text: str) -> None:
    """Make ``target`` hold ``text``, mode 0600, in one step: readers see the old file or the new
    one, and a file that was readable by others before is replaced, not rewritten in place."""
    with private_temporary(target, text) as temporary:
        os.replace(temporary, target)
    if os.name == "posix":  # the rename itself survives a crash (Windows cannot open a directory)
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

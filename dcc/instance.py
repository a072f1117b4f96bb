"""The instance folder: where the embedded mode keeps its secrets and its data.

It holds the session-signing key (with it, anyone can forge an admin's session), the
simulator's auth token, the SQLite database and the embedded Redis server's files: only the
service's own user may read them. The folder is 0700 and every file in it 0600; files made
under a looser umask, or by an older version, are tightened at every start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
import tempfile

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def prepare(path: str) -> None:
    """Make the folder if needed, and take group and other access off it and its files."""
    os.makedirs(path, mode=FOLDER_MODE, exist_ok=True)
    _tighten(path, FOLDER_MODE)
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                _tighten(entry.path, FILE_MODE)


def secret(path: str, name: str) -> str:
    """The random secret kept in ``name``, made on first use, readable by its owner only.

    A new secret is written to a private temporary file and linked into place, so a process
    starting at the same moment reads either nothing (and makes its own attempt, which loses)
    or the whole secret, never half of it.
    """
    target = os.path.join(path, name)
    if not os.path.exists(target):
        fd, scratch = tempfile.mkstemp(dir=path, prefix=f".{name}.")  # mkstemp makes it 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(scratch, target)
        finally:
            os.unlink(scratch)
    with open(target) as fh:
        return fh.read().strip()


def private_file(path: str) -> str:
    """Create ``path`` empty and 0600 unless it exists (a SQLite database then inherits it)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return path


def _tighten(path: str, allowed: int) -> None:
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & ~allowed:
        try:
            os.chmod(path, mode & allowed)
        except PermissionError:
            log.warning("cannot restrict %s (mode %o): it belongs to another user", path, mode)

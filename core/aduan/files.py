"""Files the application creates hold personal data or secrets: owner-only, whatever the umask.

The instance folder, the attachment tree, the SQLite database with its ``-wal``/``-shm`` companions
and the migration lock, and ``demo-tokens.txt`` are created 0700 (folders) and 0600 (files). The mode
is set explicitly after creation, so a permissive ``umask`` (022, 002) of the shell or of the service
manager changes nothing. Existing folders and files are left as the operator set them.
"""
from __future__ import annotations

import os

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str) -> str:
    """``mkdir -p`` where every folder this call creates is 0700."""
    path = os.path.abspath(path)
    missing = []
    p = path
    while not os.path.isdir(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for d in reversed(missing):
        try:
            os.mkdir(d, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(d, DIR_MODE)
    return path


def private_file(path: str) -> str:
    """Create ``path`` empty and 0600 if it does not exist (its folder 0700); an existing file keeps
    its content and mode."""
    private_dir(os.path.dirname(os.path.abspath(path)))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return path


def write_private(path: str, text: str) -> None:
    """Write ``text`` to a file readable by its owner only (replaced whole, never world-readable
    even for an instant)."""
    private_dir(os.path.dirname(os.path.abspath(path)))
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def too_open(paths) -> list[str]:
    """Warnings for existing paths that others may read (made by an older release or by hand under
    a permissive umask): aduan never loosens or silently changes modes an operator set."""
    out = []
    for p in paths:
        try:
            mode = os.stat(p).st_mode & 0o777
        except OSError:
            continue
        if mode & 0o077:
            want = DIR_MODE if os.path.isdir(p) else FILE_MODE
            out.append(f"{p} is readable by other users (mode {mode:04o}); it holds personal data: "
                       f"chmod {want:o} {p}")
    return out

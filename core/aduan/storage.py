"""Attachment storage: files on disk by SHA-256, type sniffed from the bytes.

A small interface (``put``, ``open``, ``exists``) so a deployment can swap in object storage.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from typing import BinaryIO

import filetype

from .files import private_dir
from .i18n import gettext as _


class AttachmentRejected(ValueError):
    """The file is too large or of a type this deployment does not accept (a 4xx, never a 500)."""


def sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    return kind.mime if kind else None


class FileStorage:
    def __init__(self, root: str, *, max_bytes: int, allowed: list[str]):
        self.root = root
        self.max_bytes = max_bytes
        self.allowed = set(allowed)

    def _path(self, sha: str) -> str:
        return os.path.join(self.root, sha[:2], sha[2:4], sha)

    def put(self, stream: BinaryIO) -> tuple[str, int, str]:
        """Store a stream; returns (sha256, size, sniffed content type). Rejects before storing."""
        private_dir(self.root)
        h = hashlib.sha256()
        size = 0
        head = b""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    chunk = stream.read(64 * 1024)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise AttachmentRejected(_("The file is larger than %(max)d bytes.", max=self.max_bytes))
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    h.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise AttachmentRejected(_("The file is empty."))
            ctype = sniff(head)
            if ctype not in self.allowed:
                raise AttachmentRejected(_("File type %(type)s is not accepted; accepted: %(accepted)s.",
                                           type=ctype or "?", accepted=", ".join(sorted(self.allowed))))
            sha = h.hexdigest()
            dest = self._path(sha)
            private_dir(os.path.dirname(dest))
            os.replace(tmp, dest)
            tmp = None
            return sha, size, ctype
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)

    def open(self, sha: str) -> BinaryIO:
        return open(self._path(sha), "rb")

    def exists(self, sha: str) -> bool:
        return os.path.exists(self._path(sha))

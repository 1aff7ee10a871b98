"""File storage: attachments (by SHA-256, type sniffed from the bytes) and published files.

One small interface, three backends a deployment chooses with ``STORAGE_BACKEND``:

* ``local`` (default): a folder (``ATTACHMENT_DIR``, default ``instance/attachments``). One host,
  or a folder every web host mounts.
* ``database``: the ``stored_file`` table of the deployment's own database. Every web process that
  reaches the database sees every file, with no new component: right for a regency or a province.
* ``s3``: an S3-compatible object store (``STORAGE_S3_*``), for national scale. Tested against
  moto's standalone S3 server only (the one S3 endpoint these test machines can run).

Keys: an attachment's key is its SHA-256 in hex (``Attachment.sha256``); other files use a path of
``/``-separated words (``opendata/2026-12/complaints.csv``). :meth:`Storage.put` validates an upload
(size, sniffed type) before anything is stored; :meth:`Storage.write` stores bytes as they are.
``aduan storage migrate`` copies every key from one backend to another and checks each copy.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
from typing import BinaryIO, Iterator

import filetype

from .files import private_dir
from .i18n import gettext as _


CHUNK = 64 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class AttachmentRejected(ValueError):
    """The file is too large or of a type this deployment does not accept (a 4xx, never a 500)."""


class StorageError(RuntimeError):
    """The backend cannot be reached or refused an operation (the message names no secret)."""


def sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    return kind.mime if kind else None


def check_key(key: str) -> str:
    if not _KEY.match(key or "") or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key


class Storage:
    """What every backend offers. Subclasses implement ``write``, ``open``, ``exists``, ``keys``,
    ``delete``; :meth:`put` (validated uploads) is shared."""

    name = "abstract"

    def __init__(self, *, max_bytes: int = 10 * 1024 * 1024, allowed: list[str] | tuple = ()):
        self.max_bytes = max_bytes
        self.allowed = set(allowed)

    # --- validated uploads ------------------------------------------------------------------
    def put(self, stream: BinaryIO) -> tuple[str, int, str]:
        """Store an upload; returns (sha256, size, sniffed content type). Rejects before storing."""
        h = hashlib.sha256()
        size = 0
        head = b""
        with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
            while True:
                chunk = stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > self.max_bytes:
                    raise AttachmentRejected(_("The file is larger than %(max)d bytes.", max=self.max_bytes))
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                h.update(chunk)
                spool.write(chunk)
            if size == 0:
                raise AttachmentRejected(_("The file is empty."))
            ctype = sniff(head)
            if ctype not in self.allowed:
                raise AttachmentRejected(_("File type %(type)s is not accepted; accepted: %(accepted)s.",
                                           type=ctype or "?", accepted=", ".join(sorted(self.allowed))))
            sha = h.hexdigest()
            if not self.exists(sha):
                spool.seek(0)
                self.write(sha, spool)
            return sha, size, ctype

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    # --- backend primitives -----------------------------------------------------------------
    def write(self, key: str, stream: BinaryIO) -> None:  # pragma: no cover - interface
        """Store ``stream`` under ``key`` (replacing what was there), atomically."""
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:  # pragma: no cover - interface
        """A readable binary file object; ``FileNotFoundError`` when the key is unknown."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def keys(self) -> Iterator[str]:  # pragma: no cover - interface
        """Every key stored, in no particular order."""
        raise NotImplementedError

    def delete(self, key: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class LocalStorage(Storage):
    """Files in a folder; attachments under ``ab/cd/<sha256>`` as in every earlier release."""

    name = "local"

    def __init__(self, root: str, **kw):
        super().__init__(**kw)
        self.root = root

    def _path(self, key: str) -> str:
        if _SHA.match(key):
            return os.path.join(self.root, key[:2], key[2:4], key)
        return os.path.join(self.root, *check_key(key).split("/"))

    def write(self, key: str, stream: BinaryIO) -> None:
        dest = self._path(key)
        private_dir(self.root)  # 0700 whatever the umask (aduan.files)
        private_dir(os.path.dirname(dest))
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)
            tmp = None
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def keys(self) -> Iterator[str]:
        if not os.path.isdir(self.root):
            return
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith("."):
                    continue  # unfinished uploads, lock files
                rel = os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")
                if _SHA.match(name) and rel == f"{name[:2]}/{name[2:4]}/{name}":
                    yield name
                else:
                    yield rel

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def describe(self) -> str:
        return f"local:{self.root}"


#: The name existing code and plugins know the local backend by.
FileStorage = LocalStorage


@contextlib.contextmanager
def _connected():
    """Use the caller's connection when it has one (a request's, a transaction's); else open one."""
    from .db import database

    if database.is_closed():
        with database.connection_context():
            yield
    else:
        yield


class DatabaseStorage(Storage):
    """Files in the ``stored_file`` table of the deployment's database (bytea on PostgreSQL)."""

    name = "database"

    def write(self, key: str, stream: BinaryIO) -> None:
        from .db import database, utcnow
        from .models import StoredFile

        data = stream.read()
        row = {"key": key, "data": data, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
               "created_at": utcnow()}
        with _connected(), database.atomic():
            StoredFile.insert(**row).on_conflict(
                conflict_target=[StoredFile.key],
                update={StoredFile.data: data, StoredFile.size: len(data), StoredFile.sha256: row["sha256"]},
            ).execute()

    def open(self, key: str) -> BinaryIO:
        from .models import StoredFile

        with _connected():
            row = StoredFile.select(StoredFile.data).where(StoredFile.key == key).first()
        if row is None:
            raise FileNotFoundError(key)
        return io.BytesIO(bytes(row.data))

    def exists(self, key: str) -> bool:
        from .models import StoredFile

        with _connected():
            return StoredFile.select().where(StoredFile.key == key).exists()

    def keys(self) -> Iterator[str]:
        from .models import StoredFile

        with _connected():
            names = [r.key for r in StoredFile.select(StoredFile.key).order_by(StoredFile.key)]
        yield from names

    def delete(self, key: str) -> None:
        from .models import StoredFile

        with _connected():
            StoredFile.delete().where(StoredFile.key == key).execute()


class S3Storage(Storage):
    """Objects in an S3-compatible bucket (boto3). Credentials: ``STORAGE_S3_ACCESS_KEY_ID`` /
    ``STORAGE_S3_SECRET_ACCESS_KEY``, else boto3's usual chain (environment, instance role)."""

    name = "s3"

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 prefix: str = "", access_key_id: str | None = None, secret_access_key: str | None = None, **kw):
        super().__init__(**kw)
        try:
            import boto3
            from botocore.config import Config
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StorageError("STORAGE_BACKEND=s3 needs boto3: pip install 'aduan[s3]'") from exc
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key_id or None, aws_secret_access_key=secret_access_key or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=30))

    def _k(self, key: str) -> str:
        return self.prefix + (key if _SHA.match(key) else check_key(key))

    def write(self, key: str, stream: BinaryIO) -> None:
        self.client.upload_fileobj(stream, self.bucket, self._k(key))

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(key) from None
            raise
        with obj["Body"] as body:
            return io.BytesIO(body.read())

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._k(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"][len(self.prefix):]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def describe(self) -> str:
        return f"s3:{self.bucket}/{self.prefix}"


def shared(storage: Storage) -> bool:
    """Whether files written here are seen by every host (database, s3), not one host's disk."""
    return not isinstance(storage, LocalStorage)


def store_tree(storage: Storage, prefix: str, directory: str) -> list[str]:
    """Copy every file under ``directory`` to ``<prefix>/<relative path>``; returns the keys."""
    keys = []
    for dirpath, _dirs, files in os.walk(directory):
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(dirpath, name), directory).replace(os.sep, "/")
            key = f"{prefix.strip('/')}/{rel}"
            with open(os.path.join(dirpath, name), "rb") as fh:
                storage.write(key, fh)
            keys.append(key)
    return keys


def delete_prefix(storage: Storage, prefix: str) -> int:
    """Delete every key under ``<prefix>/``; returns how many."""
    start = prefix.strip("/") + "/"
    doomed = [k for k in storage.keys() if k.startswith(start)]
    for k in doomed:
        storage.delete(k)
    return len(doomed)


BACKENDS = ("local", "database", "s3")


def make_storage(config, instance_path: str, backend: str | None = None) -> Storage:
    """Build the backend named by ``backend`` (default: ``STORAGE_BACKEND``) from the configuration."""
    backend = backend or config.get("STORAGE_BACKEND") or "local"
    kw = {"max_bytes": config["ATTACHMENT_MAX_BYTES"], "allowed": config["ATTACHMENT_TYPES"]}
    if backend == "local":
        return LocalStorage(config.get("ATTACHMENT_DIR") or os.path.join(instance_path, "attachments"), **kw)
    if backend == "database":
        return DatabaseStorage(**kw)
    if backend == "s3":
        if not config.get("STORAGE_S3_BUCKET"):
            raise StorageError("STORAGE_BACKEND=s3 needs STORAGE_S3_BUCKET")
        return S3Storage(config["STORAGE_S3_BUCKET"], endpoint_url=config.get("STORAGE_S3_ENDPOINT_URL"),
                         region=config.get("STORAGE_S3_REGION"), prefix=config.get("STORAGE_S3_PREFIX") or "",
                         access_key_id=config.get("STORAGE_S3_ACCESS_KEY_ID"),
                         secret_access_key=config.get("STORAGE_S3_SECRET_ACCESS_KEY"), **kw)
    raise StorageError(f"unknown STORAGE_BACKEND {backend!r}; one of {', '.join(BACKENDS)}")


def migrate_files(source: Storage, target: Storage, *, delete_source: bool = False,
                  progress=None) -> dict[str, int]:
    """Copy every key of ``source`` into ``target``, verify each copy byte for byte (SHA-256), and
    only then (with ``delete_source``) remove the original. Keys already in ``target`` with the same
    bytes are skipped, so an interrupted run can simply be run again."""
    counts = {"copied": 0, "skipped": 0, "deleted": 0}
    for key in list(source.keys()):
        data = source.read_bytes(key)
        digest = hashlib.sha256(data).hexdigest()
        if target.exists(key) and hashlib.sha256(target.read_bytes(key)).hexdigest() == digest:
            counts["skipped"] += 1
        else:
            target.write(key, io.BytesIO(data))
            if hashlib.sha256(target.read_bytes(key)).hexdigest() != digest:
                raise StorageError(f"copy of {key} differs from the original; nothing deleted")
            counts["copied"] += 1
        if progress:
            progress(key)
        if delete_source:
            source.delete(key)
            counts["deleted"] += 1
    return counts

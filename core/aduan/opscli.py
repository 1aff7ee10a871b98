"""Operations commands: ``aduan backup``, ``aduan restore``, ``aduan storage ...``.

Registered on the ``aduan`` group by :mod:`aduan.cli` (``register(main)``).
"""
from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_cmd(archive):
    """Write the database and every stored file to ARCHIVE (.tar.gz), consistently, while running."""
    from .backup import BackupError, backup

    try:
        manifest = backup(current_app._get_current_object(), archive)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(t["rows"] for t in manifest["tables"].values())
    click.echo(f"backup written to {archive}: {len(manifest['tables'])} tables, {rows} rows, "
               f"{len(manifest['files'])} files ({manifest['engine']})")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Delete the rows of the restored tables first (the database is not empty).")
@with_appcontext
def restore_cmd(archive, replace):
    """Restore ARCHIVE (made by aduan backup) into this deployment's database and storage."""
    from .backup import BackupError, restore

    try:
        result = restore(current_app._get_current_object(), archive, replace=replace)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"restored {sum(result['tables'].values())} rows in {len(result['tables'])} tables and "
               f"{result['files']} files")


@click.group("storage")
def storage_group():
    """Where attachments and published files live (STORAGE_BACKEND)."""


@storage_group.command("info")
@with_appcontext
def storage_info():
    """The configured backend and how many files it holds."""
    st = current_app.extensions["aduan"].storage
    click.echo(json.dumps({"backend": st.describe(), "files": sum(1 for _ in st.keys())}))


@storage_group.command("migrate")
@click.option("--from", "source", required=True, type=click.Choice(["local", "database", "s3"]))
@click.option("--to", "target", required=True, type=click.Choice(["local", "database", "s3"]))
@click.option("--delete-source", is_flag=True, help="Remove each file from the source once its copy is verified.")
@with_appcontext
def storage_migrate(source, target, delete_source):
    """Copy every file from one backend to another, verifying each copy (SHA-256).

    Safe to run again after an interruption; set STORAGE_BACKEND to the target afterwards (or
    before: new uploads then land in the target while the old files are copied)."""
    from .storage import StorageError, make_storage, migrate_files

    if source == target:
        raise click.UsageError("--from and --to name the same backend")
    app = current_app._get_current_object()
    try:
        src = make_storage(app.config, app.instance_path, source)
        dst = make_storage(app.config, app.instance_path, target)
        counts = migrate_files(src, dst, delete_source=delete_source)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{src.describe()} -> {dst.describe()}: {counts['copied']} copied, {counts['skipped']} already "
               f"there, {counts['deleted']} deleted from the source")


def register(group: click.Group) -> None:
    for cmd in (backup_cmd, restore_cmd, storage_group):
        group.add_command(cmd)

"""Bulk imports: the households API keeps each upload where the importer reads it, on a volume."""

from pathlib import PurePosixPath
from typing import Any

from support.compose_file import DOCUMENT, Isolate, processes

UPLOADERS = {"households.main", "households.importer"}


def test_the_api_and_the_importer_share_the_upload_folder_on_a_named_volume(
    isolate: Isolate,
) -> None:
    users = [process for process in processes().values() if process.module in UPLOADERS]
    assert {process.module for process in users} == UPLOADERS
    mounted = set()
    for process in users:
        settings: Any = isolate(process)()
        folder = PurePosixPath(settings.IMPORT_DIR)
        assert folder.is_absolute(), f"{process.name}: IMPORT_DIR relative to the working folder"
        mounts = [str(volume).split(":") for volume in process.service.get("volumes", [])]
        named = [(source, target) for source, target, *_ in mounts if folder.is_relative_to(target)]
        assert named, f"{process.name}: {folder} is not on a volume (uploads would die with it)"
        assert named[0][0] in DOCUMENT.get("volumes", {}), f"{named[0][0]}: not a named volume"
        mounted.add((named[0], str(folder)))
    assert len(mounted) == 1, f"the API and the importer see different folders: {mounted}"

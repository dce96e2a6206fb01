from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic.json_schema import SkipJsonSchema

from households.imports import service as import_service
from households.imports import support_layout
from households.imports.layout import TEMPLATE_NAME, csv_template, xlsx_template
from households.imports.limits import Limits
from households.imports.models import ImportFormat, ImportKind, ImportStatus
from households.imports.schemas import ImportList, ImportRead
from kit.auth import Caller, Permission, requires
from kit.db import SessionDep
from kit.errors import problem_responses
from kit.fields import Offset
from kit.logging import current_request_id

router = APIRouter(
    prefix="/api/v1/imports",
    tags=["imports"],
    responses=problem_responses(401, 403, 404, 422),
)
ImportReader = Annotated[Caller, requires(Permission.HOUSEHOLDS_READ)]
ImportWriter = Annotated[Caller, requires(Permission.HOUSEHOLDS_WRITE)]

TemplateKind = Annotated[
    ImportKind, Query(description="`surveys` (the default) or `support`: which file's layout.")
]
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


# The templates come before `/{import_id}`, which would otherwise take their names for an id.


@router.get(
    "/template.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
    operation_id="getImportTemplateCsv",
)
async def csv_template_file(
    caller: ImportReader, kind: TemplateKind = ImportKind.surveys
) -> Response:
    """The CSV layout: its header and an example household (one row per member), or with
    `kind=support` two example support records (one a row)."""
    if kind == ImportKind.support:
        name = f"{support_layout.TEMPLATE_NAME}.csv"
        return Response(support_layout.csv_template(), media_type=CSV, headers=_attachment(name))
    return Response(csv_template(), media_type=CSV, headers=_attachment(f"{TEMPLATE_NAME}.csv"))


@router.get(
    "/template.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
    operation_id="getImportTemplateXlsx",
)
async def xlsx_template_file(
    caller: ImportReader, kind: TemplateKind = ImportKind.surveys
) -> Response:
    """The XLSX layout: the sheet to fill in, with lists of values, and a sheet of the columns;
    `kind=support` for support records."""
    if kind == ImportKind.support:
        name = f"{support_layout.TEMPLATE_NAME}.xlsx"
        return Response(support_layout.xlsx_template(), media_type=XLSX, headers=_attachment(name))
    return Response(xlsx_template(), media_type=XLSX, headers=_attachment(f"{TEMPLATE_NAME}.xlsx"))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ImportRead,
    responses=problem_responses(413),
    operation_id="startImport",
)
async def upload(
    caller: ImportWriter,
    request: Request,
    session: SessionDep,
    response: Response,
    file: Annotated[UploadFile, File(description="CSV, XLSX or JSON lines.")],
    # A form has no null: a field left out is absent, so the document offers no null either.
    round_id: Annotated[
        UUID | SkipJsonSchema[None],
        Form(description="The review round the surveys belong to (a survey import only)."),
    ] = None,
    kind: Annotated[
        ImportKind,
        Form(
            description="`surveys` (households with their surveys) or `support` (records of "
            "support given, CSV or XLSX)."
        ),
    ] = ImportKind.surveys,
    # A form has no null: the field is left out, so the document offers no null either.
    format: Annotated[
        ImportFormat | SkipJsonSchema[None],
        Form(description="Only if the file name does not end in it."),
    ] = None,
) -> ImportRead:
    """Upload households with their surveys (or, `kind=support`, support records); they are
    imported by a job (poll its status). A file that is, or expands to, more than the import
    limits allow is refused with 413."""
    filename = file.filename or ""
    job = await import_service.create(
        session,
        kind=kind,
        round_id=round_id,
        caller=caller,
        filename=filename,
        file_format=import_service.format_of(filename, format),
        upload=file.file,
        directory=Path(request.state.settings.IMPORT_DIR),
        limits=Limits.of(request.state.settings),
        request_id=current_request_id(),
    )
    response.headers["Location"] = f"/api/v1/imports/{job.id}"
    return ImportRead.of(job)


@router.get("", response_model=ImportList)
async def list_imports(
    caller: ImportReader,
    session: SessionDep,
    round_id: UUID | None = None,
    status: Annotated[ImportStatus | None, Query(description="Only imports in this state.")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ImportList:
    """Imports, newest first: the caller's own (every import for a country-wide scope)."""
    items, total = await import_service.search(
        session, caller, round_id=round_id, status=status, offset=offset, limit=limit
    )
    return ImportList(
        items=[ImportRead.of(job) for job in items], total=total, offset=offset, limit=limit
    )


@router.get("/{import_id}", response_model=ImportRead)
async def get_import(caller: ImportReader, import_id: UUID, session: SessionDep) -> ImportRead:
    """An import's status and progress."""
    return ImportRead.of(await import_service.get(session, import_id, caller))


@router.get(
    "/{import_id}/errors.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {"schema": {"type": "string"}}}}},
    operation_id="getImportErrorReport",
)
async def error_report(
    caller: ImportReader, import_id: UUID, request: Request, session: SessionDep
) -> StreamingResponse:
    """The import's row errors so far as CSV: `row,field,message`, in file order."""
    job = await import_service.get(session, import_id, caller)
    return StreamingResponse(
        import_service.error_report(request.state.sessionmaker, job.id),
        media_type=CSV,
        headers=_attachment(f"import-{job.id}-errors.csv"),
    )

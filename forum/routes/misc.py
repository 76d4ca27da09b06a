from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.runtime import runtime_of


async def healthz(request: Request) -> Response:
    """200 when the database answers SELECT 1, else 503 (never refused for load:
    see forum.admission)."""
    admission = runtime_of(request.app).admission
    if await admission.check_database():
        return JSONResponse({"status": "ok", "database": "ok"}, headers={"cache-control": "no-store"})
    return JSONResponse(
        {"status": "unavailable", "database": "unreachable"},
        status_code=503,
        headers={"cache-control": "no-store", "retry-after": str(admission.retry_after)},
    )

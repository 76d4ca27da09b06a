from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from forum.web import reading


async def healthz(request: Request) -> Response:
    async with reading(request) as session:
        await session.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})

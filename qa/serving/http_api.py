"""`qa serve`: the HTTP API and the web page over a `Service`. FastAPI and uvicorn do the HTTP.

Every error reaches a client as ``{"error": "..."}`` with its status code; tracebacks stay in the
server's log. Questions run one at a time on a worker thread (the model already uses every core),
so the event loop keeps taking requests while they wait.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
from functools import partial
from pathlib import Path
from typing import Literal

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from qa import __version__
from qa.api import DEFAULT_TOP_K
from qa.errors import QAError
from qa.serving.service import Changed, NotFound, Service, Unavailable

log = logging.getLogger("qa.serving.http_api")

MAX_BODY = 1_000_000  # bytes of a request body
MAX_QUESTION = 2_000  # characters of one question
MAX_BATCH = 256  # questions in one /batch request
MAX_TOP_K = 100
WEB = Path(__file__).resolve().parent / "web"
Mode = Literal["hybrid", "dense", "bm25"]


class AskRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    question: str = Field(max_length=MAX_QUESTION)
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    mode: Mode = "hybrid"
    show_all: bool = False
    reader: bool = True  # false: passages and sentences only, as `qa ask --no-reader`


class BatchQuestion(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    id: str | None = Field(None, max_length=200)
    question: str  # one over MAX_QUESTION gets an error record, as a bad line of `qa batch` does


class BatchRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    questions: list[BatchQuestion] = Field(min_length=1, max_length=MAX_BATCH)
    top_k: int = Field(DEFAULT_TOP_K, ge=1, le=MAX_TOP_K)
    mode: Mode = "hybrid"
    reader: bool = True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    e = errors[0]
    loc = [str(x) for x in e.get("loc", ()) if x != "body"]
    if e.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    if not loc:
        return "the request body must be a JSON object"
    if loc[-1] == "question" and e.get("type") == "string_too_long":
        return f"the question is longer than {MAX_QUESTION} characters"
    if loc == ["questions"] and e.get("type") == "too_long":
        return f"too many questions in one batch: at most {MAX_BATCH}"
    return f"{'.'.join(loc)}: {e.get('msg', 'invalid')}"


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, before any of it is parsed.

    The body is read here in full (it is small by then) and handed on, so a chunked upload without a
    Content-Length is held to the same limit."""

    def __init__(self, app, limit: int = MAX_BODY):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_big = _error(413, f"the request body is larger than {self.limit:,} bytes")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await too_big(scope, receive, send)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message]), send)
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await too_big(scope, receive, send)
            more = message.get("more_body", False)
        return await self.app(scope, _replay([{"type": "http.request", "body": b"".join(chunks)}], receive), send)


def _replay(messages: list[dict], then=None):
    async def receive():
        if messages:
            return messages.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


def create_app(service: Service, token: str | None = None) -> FastAPI:
    """The FastAPI application: JSON API, document view and the web page, over ``service``."""
    app = FastAPI(title="qa", version=__version__,
                  description="Cited passages from your own documents: the same answers as `qa ask --json`.")
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    compute = anyio.CapacityLimiter(1)
    secret = token.encode() if token else None

    def authorized(request: Request) -> None:
        if secret is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), secret):
            raise HTTPException(401, "missing or wrong token: send 'Authorization: Bearer TOKEN' "
                                     "(qa ask --token or QA_TOKEN)", headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        return _error(422, _validation_message(exc))

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError):
        status = 503 if isinstance(exc, Unavailable) else 404 if isinstance(exc, NotFound) else \
            409 if isinstance(exc, Changed) else 422
        return _error(status, str(exc))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.error("error answering %s %s", request.method, request.url.path, exc_info=exc)
        return _error(500, "internal error (see the server's log)")

    async def answer(fn, *args, **kwargs):
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=compute)

    @app.get("/health", summary="Index folder, generation, passages, model and version")
    def health() -> dict:
        return service.health()

    @app.post("/ask", dependencies=[Depends(authorized)], summary="Answer one question (`qa ask --json`)")
    async def ask(req: AskRequest) -> dict:
        return await answer(service.ask, req.question, top_k=req.top_k, mode=req.mode, show_all=req.show_all,
                            reader=req.reader)

    @app.post("/batch", dependencies=[Depends(authorized)], summary="Answer many questions (`qa batch`)")
    async def batch(req: BatchRequest) -> dict:
        items = [(q.id if q.id is not None else str(i + 1), q.question) for i, q in enumerate(req.questions)]
        return {"results": await answer(service.batch, items, top_k=req.top_k, mode=req.mode,
                                          reader=req.reader, max_chars=MAX_QUESTION)}

    @app.get("/documents/{doc:path}", dependencies=[Depends(authorized)],
             summary="Source text of an indexed document, with its passages' offsets")
    def document(doc: str) -> dict:
        return service.document(doc)

    # The page and its files hold no data (answers come from /ask), so they need no token.
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=WEB), name="static")
    return app


def listen(host: str, port: int, token: str | None) -> socket.socket:
    """A listening socket, made before the model loads: a refused address or a port in use is a
    one-line error at once, not the server's traceback a few seconds later."""
    if not token and not is_loopback(host):
        raise QAError(f"refusing to listen on {host} without a token: give --token or set QA_TOKEN "
                      "(or listen on 127.0.0.1)")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise QAError(f"cannot listen on {host}: {e.strerror or e}") from e
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        # Answers go out as two writes (headers, body); without this, the second waits for the client's
        # delayed acknowledgement, 40 ms on every request of a kept-alive connection. Accepted
        # connections inherit the option.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise QAError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def run(service: Service, sock: socket.socket, token: str | None, announce) -> None:
    """Serve on ``sock`` until interrupted; ``announce`` gets the address line first."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    announce(f"serving {service.folder} on http://{shown}:{port}/ (API docs at /docs; Ctrl-C stops)")
    config = uvicorn.Config(create_app(service, token), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])

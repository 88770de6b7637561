"""FastAPI routes of `exposure-batch serve` (OpenAPI schema at /docs and /openapi.json).

GET /v1/health (no token) | POST /v1/edit (JSON path, or multipart upload) | POST /v1/jobs | GET /v1/jobs/{id} |
DELETE /v1/jobs/{id}. Everything but health needs `Authorization: Bearer TOKEN`. Errors: 401 no/bad token,
403 path outside the roots (or a foreign Origin), 404 missing file or job, 409 a render that would write over a
file the service did not write, 413 body too large, 422 bad request or a photo that cannot be edited (the reason
names the file), 503 worker failure.

Exports: ServiceConfig, create_app.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Literal, Optional

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from .. import __version__
from ..errors import Kind, ModelError
from ..failures import Failed
from ..io import formats
from . import security
from .decider import Decider
from .edits import EditRequest, RenderRequest, edit_photo
from .engine import Engine
from .jobs import Item, JobManager
from .outputs import Claims, PlanError, plan

#: HTTP status for a photo's failure, by kind: the photo's or the request's fault 4xx, the service's 5xx.
HTTP_STATUS = {Kind.INPUT: 422, Kind.LIMIT: 422, Kind.USAGE: 422, Kind.CONFLICT: 409, Kind.SETUP: 503,
               Kind.ENVIRONMENT: 503, Kind.CRASH: 503, Kind.TIMEOUT: 503}

MAX_JOB_PATHS = 10_000
MAX_METADATA = 64 << 10  # bytes of an upload's `metadata` JSON
UPLOAD_CHUNK = 1 << 20


@dataclass
class ServiceConfig:
    """Everything `serve` was started with."""

    token: str
    roots: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])
    agent: str = "learned"
    model_path: str | None = None
    profiles: dict = field(default_factory=dict)
    workers: int = 1
    timeout: float | None = 600.0
    memory_limit: int | None = None
    max_body: int = 1 << 20  # JSON requests
    max_upload: int = 200 << 20  # multipart uploads
    job_in_flight: int = 4


# ---------------------------------------------------------------------------------------------------------------
# Request / response models (they make the OpenAPI schema)
# ---------------------------------------------------------------------------------------------------------------
class RenderSpec(BaseModel):
    format: Literal[formats.OUTPUT_CHOICES] = "jpeg"  # io.formats: jpeg (jpg), png, tiff (tif)
    quality: int = Field(95, ge=1, le=100)
    output_dir: str = Field(..., description="Absolute folder under one of the service's --root folders")


class EditBody(BaseModel):
    path: str = Field(..., description="Absolute path of the photo, under one of the service's --root folders")
    agent: Optional[Literal["learned", "classic"]] = None
    profile: Optional[str] = Field(None, description="Name of a saved look from the service's --profiles folder")
    render: Optional[RenderSpec] = None


class UploadMeta(BaseModel):
    """The `metadata` part of an upload: the original's name and raw flag, the recipe source."""

    name: Optional[str] = None
    raw: Optional[bool] = None
    agent: Optional[Literal["learned", "classic"]] = None
    profile: Optional[str] = None


class JobBody(BaseModel):
    paths: list[str] = Field(..., min_length=1, max_length=MAX_JOB_PATHS)
    agent: Optional[Literal["learned", "classic"]] = None
    profile: Optional[str] = None
    render: Optional[RenderSpec] = None


class EditResult(BaseModel):
    recipe: dict
    lightroom: dict = Field(..., description="Develop settings for LrPhoto:applyDevelopSettings (absolute values)")
    darktable_xmp: str = Field(..., description="darktable sidecar (IMG.EXT.xmp) text")
    history_name: str
    notes: list[str]
    source: dict
    timing: dict
    outputs: Optional[list[str]] = None


class Health(BaseModel):
    status: str
    version: str
    model: str
    agent: str
    workers: int
    queued: int
    largest_batch: int = Field(..., description="Most decisions made in one agent call (last 100 calls)")


def create_app(cfg: ServiceConfig, engine: Engine | None = None, decider: Decider | None = None) -> FastAPI:
    """The ASGI app: routes plus the Guard middleware. The engine (worker pool) starts with the app's lifespan."""
    guard = security.PathGuard(cfg.roots)
    decider = decider or Decider(cfg.agent, cfg.model_path, cfg.profiles)
    engine = engine or Engine(cfg.workers, cfg.timeout, cfg.memory_limit)
    claims = Claims()  # the files renders in flight write; the ledger of files the service wrote
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        _one_blas_thread()
        decider.source(decider.choose(None, None))  # load the default agent now: the first request finds it warm
        await _run_blocking(engine.start)
        await engine.warm_up()
        decider.start()
        state["jobs"] = JobManager(engine, decider, in_flight=cfg.job_in_flight, claims=claims)
        state["uploads"] = tempfile.mkdtemp(prefix="exposure-batch-uploads-")
        try:
            yield
        finally:
            await state["jobs"].close()
            await decider.stop()
            await _run_blocking(engine.close)
            shutil.rmtree(state["uploads"], ignore_errors=True)

    app = FastAPI(title="exposure-batch", version=__version__, lifespan=lifespan,
                  description="Local edit service for the Lightroom Classic and darktable plugins.")
    app.add_middleware(security.Guard, hosts=cfg.hosts, max_body=cfg.max_body, max_upload=cfg.max_upload)
    bearer = HTTPBearer(auto_error=False)

    def authorised(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if creds is None or not security.token_matches(creds.credentials, cfg.token):
            raise HTTPException(401, "missing or wrong token (Authorization: Bearer TOKEN)",
                                headers={"WWW-Authenticate": "Bearer"})

    def checked(path: str) -> str:
        try:
            return guard.check(path)
        except security.Forbidden as err:
            raise HTTPException(403, str(err)) from err

    def render_request(spec: RenderSpec | None) -> RenderRequest | None:
        if spec is None:
            return None
        folder = checked(spec.output_dir)
        if not os.path.isdir(folder):
            raise HTTPException(422, f"{spec.output_dir}: output_dir is not a folder")
        return RenderRequest(formats.output_format(spec.format), spec.quality, folder)

    def choice(agent, profile):
        try:
            return decider.choose(agent, profile)
        except ModelError as err:
            raise HTTPException(422, str(err)) from err

    async def run_edit(req: EditRequest, request: Request) -> dict:
        """The edit, dropped when the client hangs up first (a Failed is answered by failed_response)."""
        return await _unless_gone(request, edit_photo(req, engine, decider, claims=claims))

    @app.exception_handler(Failed)
    async def failed_response(_request: Request, err: Failed) -> JSONResponse:
        """A photo's typed failure: the status for its kind, `detail` the one line, `failure` the Failure itself."""
        return JSONResponse({"detail": err.reason, "failure": err.failure.to_dict()},
                            status_code=HTTP_STATUS[err.kind])

    @app.get("/v1/health", response_model=Health, tags=["service"])
    async def health() -> dict:
        """Liveness, version and the default model (no token needed)."""
        return {"status": "ok", "version": __version__, "model": decider.model_id(), "agent": decider.default_agent,
                "workers": cfg.workers, "queued": engine.queued(),
                "largest_batch": max(decider.batches, default=0)}

    @app.post("/v1/edit", response_model=EditResult, response_model_exclude_none=True, tags=["edit"],
              dependencies=[Depends(authorised)],
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": EditBody.model_json_schema()},
                  "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                      "file": {"type": "string", "format": "binary"},
                      "metadata": {"type": "string", "description": 'JSON: {"name": "IMG_0001.CR2", "raw": true, '
                                   '"agent": "learned", "profile": null}'}}}}}}})
    async def edit(request: Request, output: Literal["json", "darktable_xmp"] = "json"):
        """Edit one photo: a path on this machine (JSON), or an uploaded photo or preview (multipart: `file`, plus
        `metadata` naming the original so raw/non-raw settings fit it). `?output=darktable_xmp` answers with the
        darktable sidecar alone (application/rdf+xml), for clients without a JSON parser (the darktable script)."""
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("multipart/form-data"):
            return _shaped(await _edit_upload(request), output)
        try:
            body = EditBody.model_validate_json(await request.body())
        except ValueError as err:  # (pydantic's JSON parser stops at 200 levels of nesting)
            raise HTTPException(422, f"bad request body: {_one_line(err)}") from err
        path = checked(body.path)
        if not os.path.isfile(path):
            raise HTTPException(404, f"{body.path}: no such file")
        req = EditRequest(path, os.path.basename(body.path), choice(body.agent, body.profile),
                          render=render_request(body.render))
        return _shaped(await run_edit(req, request), output)

    async def _edit_upload(request: Request) -> dict:
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, "multipart request without a 'file' part")
        text = form.get("metadata") or "{}"
        if not isinstance(text, str) or len(text) > MAX_METADATA:
            raise HTTPException(422, f"bad metadata: a JSON object of at most {MAX_METADATA} bytes is expected")
        try:  # (pydantic's JSON parser stops at 200 levels of nesting: no RecursionError)
            meta = UploadMeta.model_validate_json(text).model_dump()
        except ValueError as err:
            raise HTTPException(422, f"bad metadata: {_one_line(err)}") from err
        name = os.path.basename(meta.get("name") or upload.filename or "upload.jpg")
        suffix = os.path.splitext(upload.filename or name)[1].lower() or ".jpg"
        fd, tmp = tempfile.mkstemp(suffix=suffix, dir=state["uploads"])
        try:
            with os.fdopen(fd, "wb") as fh:
                while chunk := await upload.read(UPLOAD_CHUNK):
                    fh.write(chunk)
            raw = meta.get("raw")
            req = EditRequest(tmp, name, choice(meta.get("agent"), meta.get("profile")),
                              raw=bool(raw) if raw is not None else None)
            return await run_edit(req, request)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    @app.post("/v1/jobs", status_code=202, tags=["jobs"], dependencies=[Depends(authorised)],
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": JobBody.model_json_schema()}}}})
    async def create_job(request: Request) -> dict:
        """Edit many photos (paths on this machine); poll GET /v1/jobs/{id} for progress and results."""
        try:  # parsed here, as /v1/edit's body: a malformed or absurdly nested body gets 422 with its reason
            body = JobBody.model_validate_json(await request.body())
        except ValueError as err:
            raise HTTPException(422, f"bad request body: {_one_line(err)}") from err
        src = choice(body.agent, body.profile)
        render = render_request(body.render)
        paths = [checked(p) for p in body.paths]  # any path outside the roots refuses the whole job (403)
        planned = _plan_job(body.paths, paths, render)
        items = []
        for i, (p, path) in enumerate(zip(body.paths, paths)):
            item = Item(i, EditRequest(path, os.path.basename(p), src, render=render, out_path=planned.get(path)), p)
            if not os.path.isfile(path):
                item.status, item.reason, item.error_kind = "failed", f"{p}: no such file", "input"
            items.append(item)
        job = state["jobs"].create(items)
        return {"id": job.id, "total": len(items), "url": f"/v1/jobs/{job.id}"}

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], dependencies=[Depends(authorised)])
    async def get_job(job_id: str, after: int = 0) -> dict:
        """Progress and the results of photos finished since sequence number `after` (0: all)."""
        job = state["jobs"].get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return job.view(after)

    @app.delete("/v1/jobs/{job_id}", tags=["jobs"], dependencies=[Depends(authorised)])
    async def cancel_job(job_id: str) -> dict:
        """Cancel a job: photos not finished yet are dropped (finished results stay readable)."""
        job = state["jobs"].get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        state["jobs"].cancel(job)
        if job.task is not None:
            with contextlib.suppress(BaseException):
                await job.task
        return job.view(0) | {"items": []}

    return app


def _plan_job(names: list[str], paths: list[str], render: RenderRequest | None) -> dict[str, str]:
    """Planned outputs of a job's photos, all together as `process` plans them (a/IMG.jpg and b/IMG.jpg -> OUT/a/,
    OUT/b/); 409 naming both files when an output would be an input. {} without a render."""
    if render is None:
        return {}
    pairs = list({path: (path, os.path.basename(name)) for name, path in zip(names, paths)
                  if os.path.isfile(path)}.values())
    try:
        return plan(pairs, render.fmt, render.output_dir)
    except PlanError as err:
        raise HTTPException(409, str(err)) from err


async def _unless_gone(request: Request, work):
    """Await `work` (a coroutine); when the client hangs up first, cancel it, so its queued engine tasks are dropped
    before they start (Starlette does not cancel a handler whose client went away), and answer 499."""
    task = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        gone.cancel()
    if task.cancelled():
        raise HTTPException(499, "the client closed the connection")
    return task.result()


async def _disconnected(request: Request) -> None:
    """Return when the client has closed its connection (the request body was read already, so the server's next
    message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _one_line(err: Exception) -> str:
    """A validation error as one line: 'loc: message; ...' (pydantic's text spans several lines)."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        try:
            parts = [f"{'.'.join(str(x) for x in e.get('loc', ())) or 'json'}: {e.get('msg', '')}" for e in errors()]
            return "; ".join(parts)[:500]
        except Exception:  # noqa: BLE001
            pass
    return " ".join(str(err).split())[:500]


def _one_blas_thread() -> None:
    """The agent's small matrix products in this process run on one BLAS thread: with OpenBLAS's default (a
    thread per core) a decision took 0.2-2 s instead of 25-40 ms on a loaded 2-core machine, its idle threads
    spinning against the workers. The workers get their own limits when they are spawned."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    threadpool_limits(limits=1, user_api="blas")


def _shaped(body: dict, output: str):
    if output == "darktable_xmp":
        return Response(body["darktable_xmp"], media_type="application/rdf+xml")
    return body


async def _run_blocking(fn):
    import asyncio  # noqa: PLC0415

    return await asyncio.to_thread(fn)

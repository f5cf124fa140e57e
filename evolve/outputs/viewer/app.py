"""The viewer's ASGI application (Starlette): routes, templates, static files.

Pages (all GET; every one has a stable URL; ``?run=N`` picks a run other than the latest):

* ``/``: run overview (config, status, budget per cap, spend per role, fitness over
  evaluations with seeds and references, champion, top programs, recent events);
* ``/grid`` (``?island=I``): the MAP-Elites grids with bin ranges; a cell links to its elite;
* ``/program/<id>`` (``?stage=&context=&x=&y=``): code, diffs, lineage, mutation, per-context
  metrics weakest first, a scatter of a context's personas;
* ``/compare?a=ID&b=ID``: two programs side by side and their diff;
* ``/rare`` (``?context=&k=&bins=``): the rare regions of ``inspect rare`` with example personas;
* ``/front``: the cost front (``inspect front``) plotted; ``/holes`` (``?context=&bins=``): the
  unreached cells (``inspect holes``), small multiples per axis pair;
* ``/report``: the content of the run's ``report.md`` (``evolve.outputs.report.content``), read now;
* ``/api/status``: small JSON the pages poll for live updates; ``/api/references``: the
  reference fitness lines of the overview chart.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import threading
from dataclasses import dataclass
from typing import Any, AsyncIterator
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from archive.reader import ArchiveReader, ReaderError, UnknownProgramError
from evolve.outputs.safe_text import visible, visible_deep
from evolve.outputs.viewer import models
from evolve.outputs.viewer.contexts import ContextCatalog
from evolve.outputs.viewer.security import LOOPBACK_NAMES, Guard

#: Seconds between the pages' polls of /api/status.
POLL_SECONDS = 3.0


@dataclass(frozen=True)
class Urls:
    """Builds the viewer's links, carrying ``run`` when the page was asked for one."""

    run: int | None

    def path(self, path: str, **params: Any) -> str:
        q = {k: v for k, v in params.items() if v is not None and v != ""}
        if self.run is not None:
            q = {"run": self.run, **q}
        return path + ("?" + urlencode(q) if q else "")


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a table: fixed digits, ``–`` for None/NaN."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(f):
        return "–"
    return f"{f:.{digits}f}"


def when(ts: Any) -> str:
    """Unix seconds as local ``YYYY-MM-DD HH:MM:SS``."""
    try:
        return dt.datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError, OSError, OverflowError):
        return "–"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("evolve.outputs.viewer", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["when"] = when
    # program and persona text: control and bidi characters shown as escapes, never acted on
    env.finalize = lambda value: visible(value) if type(value) is str else value
    env.filters["tojson"] = lambda value, indent=None: jinja2.utils.htmlsafe_json_dumps(
        visible_deep(value), indent=indent
    )
    return env


class Viewer:
    """Holds the archive reader and the context catalog; serves the routes."""

    def __init__(self, reader: ArchiveReader, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.reader = reader
        self.poll_seconds = poll_seconds
        self.templates = Jinja2Templates(env=_environment())
        self._catalogs: dict[int, ContextCatalog] = {}
        self._lock = threading.Lock()
        self._plotly: bytes | None = None

    # ------------------------------------------------------------------ helpers
    def _reader(self, request: Request) -> tuple[ArchiveReader, Urls]:
        raw = request.query_params.get("run")
        run_id = None
        if raw:
            try:
                run_id = int(raw)
            except ValueError:
                raise HTTPException(400, f"run must be an integer, got {raw!r}") from None
        try:
            reader = self.reader.at_run(run_id)
        except ReaderError as exc:
            raise HTTPException(404, str(exc)) from None
        return reader, Urls(run_id)

    def _catalog(self, reader: ArchiveReader) -> ContextCatalog:
        with self._lock:
            if reader.run_id not in self._catalogs:
                self._catalogs[reader.run_id] = ContextCatalog(reader.run().contexts)
            return self._catalogs[reader.run_id]

    def _page(
        self,
        request: Request,
        name: str,
        reader: ArchiveReader,
        urls: Urls,
        live: str,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        snap = reader.snapshot()
        base = {
            "urls": urls,
            "snapshot": snap,
            "simulated": reader.simulated(),
            "weak_sandbox": reader.weak_sandbox(),
            "db": reader.db,
            "live": live,
            "runs": [r.id for r in reader.runs()],
            "run_id": reader.run_id,
            "poll_ms": int(self.poll_seconds * 1000),
            "nav": name.split(".")[0],
        }
        resp = self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
        resp.headers["cache-control"] = "no-store"
        return resp

    @staticmethod
    def _int(request: Request, name: str, default: int | None, *, low: int, high: int) -> int | None:
        raw = request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise HTTPException(400, f"{name} must be an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise HTTPException(400, f"{name} must be in [{low}, {high}], got {value}")
        return value

    # ------------------------------------------------------------------ pages
    def overview(self, request: Request) -> Response:
        reader, urls = self._reader(request)
        data = models.overview(reader, self._catalog(reader), urls)
        return self._page(request, "overview.html", reader, urls, "reload", **data)

    def grid(self, request: Request) -> Response:
        reader, urls = self._reader(request)
        island = self._int(request, "island", None, low=0, high=reader.config.islands - 1)
        data = models.grids(reader, island)
        return self._page(request, "grid.html", reader, urls, "reload", **data)

    def program(self, request: Request) -> Response:
        reader, urls = self._reader(request)
        ref = request.path_params["ref"]
        try:
            pid = reader.resolve(ref)
        except UnknownProgramError as exc:
            raise HTTPException(404, str(exc)) from None
        if pid != ref:
            params = {k: v for k, v in request.query_params.items() if k != "run"}
            return RedirectResponse(urls.path(f"/program/{pid}", **params), status_code=302)
        data = models.program_page(
            reader,
            self._catalog(reader),
            pid,
            stage=request.query_params.get("stage"),
            context=request.query_params.get("context"),
        )
        axes = len(data["scatter"]["axes"]) if data["scatter"] else 0
        x = self._int(request, "x", 0, low=0, high=max(axes - 1, 0))
        y = self._int(request, "y", 1 if axes > 1 else 0, low=0, high=max(axes - 1, 0))
        return self._page(request, "program.html", reader, urls, "notice", x=x, y=y, **data)

    def compare(self, request: Request) -> Response:
        reader, urls = self._reader(request)
        a, b = request.query_params.get("a", "").strip(), request.query_params.get("b", "").strip()
        data: dict[str, Any] = {"ref_a": a, "ref_b": b, "result": None, "error": None}
        status = 200
        if a and b:
            try:
                ia, ib = reader.resolve(a), reader.resolve(b)
                data["result"] = models.compare(reader, ia, ib)
            except UnknownProgramError as exc:
                data["error"] = str(exc)
                status = 404
        elif a or b:
            data["error"] = "give two programs: a and b"
            status = 400
        data["choices"] = [models.program_summary(v) for v in reader.top(50, stage="train")]
        return self._page(request, "compare.html", reader, urls, "notice", status_code=status, **data)

    def rare(self, request: Request) -> Response:
        from evolve.outputs.inspect import InspectError

        reader, urls = self._reader(request)
        k = self._int(request, "k", 10, low=1, high=200)
        bins = self._int(request, "bins", None, low=1, high=20)
        context = request.query_params.get("context") or None
        try:
            data = models.rare_page(reader, self._catalog(reader), context=context, k=k or 10, bins=bins)
            error = None
        except InspectError as exc:
            data, error = None, str(exc)
        return self._page(
            request,
            "rare.html",
            reader,
            urls,
            "notice",
            status_code=200 if data or context is None else 404,
            rare=data,
            error=error,
            k=k,
            bins=bins,
        )

    def front(self, request: Request) -> Response:
        from evolve.outputs.viewer.support_pages import front_page

        reader, urls = self._reader(request)
        return self._page(request, "front.html", reader, urls, "notice", **front_page(reader, urls))

    def holes(self, request: Request) -> Response:
        from evolve.outputs.inspect import InspectError
        from evolve.outputs.viewer.support_pages import holes_page

        reader, urls = self._reader(request)
        bins = self._int(request, "bins", None, low=1, high=20)
        limit = self._int(request, "limit", 50, low=0, high=1000)
        context = request.query_params.get("context") or None
        try:
            data, error = holes_page(reader, context=context, bins=bins, limit=limit or 0), None
        except InspectError as exc:
            data, error = None, str(exc)
        return self._page(
            request,
            "holes.html",
            reader,
            urls,
            "notice",
            status_code=200 if data or context is None else 404,
            holes=data,
            error=error,
        )

    def report(self, request: Request) -> Response:
        from evolve.outputs.report.content import build_report

        reader, urls = self._reader(request)
        from evolve.outputs.inspect.history import history_lines

        r = build_report(reader)
        return self._page(request, "report.html", reader, urls, "notice", r=r, history=history_lines(r))

    # ------------------------------------------------------------------ JSON and assets
    def status(self, request: Request) -> Response:
        reader, _ = self._reader(request)
        s = reader.snapshot()
        return JSONResponse(
            {
                "run": s.run_id,
                "status": str(s.status),
                "updated_at": s.updated_at,
                "evaluations": s.evaluations,
                "proposal_evaluations": s.proposal_evaluations,
                "last_event_id": s.last_event_id,
                "version": s.version,
            },
            headers={"cache-control": "no-store"},
        )

    def references(self, request: Request) -> Response:
        from evolve.outputs.viewer import references as refs

        reader, _ = self._reader(request)
        if not refs.available():
            return JSONResponse({"available": False, "lines": []})
        shapes, mc = models.reference_shapes(reader, self._catalog(reader))
        objective = models.objective_of(reader.run())
        lines = refs.reference_lines(shapes, objective=objective, mc_samples=mc)
        return JSONResponse(
            {"available": True, "lines": [{"name": ln.name, "value": ln.value} for ln in lines]},
            headers={"cache-control": "no-store"},
        )

    def plotly(self, request: Request) -> Response:
        if self._plotly is None:
            from plotly.offline import get_plotlyjs

            self._plotly = get_plotlyjs().encode()
        return Response(
            self._plotly,
            media_type="text/javascript; charset=utf-8",
            headers={"cache-control": "public, max-age=86400"},
        )

    async def error(self, request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", None) or "error"
        try:
            body = self.templates.get_template("error.html").render(
                status=code,
                message=str(detail),
                urls=Urls(None),
                nav="",
                snapshot=None,
                simulated=False,
                live="off",
                runs=[],
                run_id=None,
                poll_ms=0,
                db=self.reader.db,
            )
        except Exception:  # noqa: BLE001 - the error page must not fail
            return Response(f"{code}: {detail}\n", status_code=code, media_type="text/plain")
        return Response(
            body,
            status_code=code,
            media_type="text/html; charset=utf-8",
            headers={"cache-control": "no-store"},
        )


def create_app(
    db: str,
    *,
    run_id: int | None = None,
    token: str | None = None,
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_NAMES,
    poll_seconds: float = POLL_SECONDS,
) -> Starlette:
    """The viewer app over archive ``db`` (opened read-only; ReaderError if it cannot be).

    ``run_id``: checked to exist (pages still default to the latest run unless ``?run=``);
    ``token``: access token every request must carry (None: none needed);
    ``allowed_hosts``: ``Host`` names accepted (None: any; default: loopback names);
    ``poll_seconds``: how often pages poll ``/api/status``.
    """
    reader = ArchiveReader.open(db, run_id=run_id)
    viewer = Viewer(reader, poll_seconds=poll_seconds)
    routes = [
        Route("/", viewer.overview, methods=["GET", "HEAD"]),
        Route("/grid", viewer.grid, methods=["GET", "HEAD"]),
        Route("/program/{ref}", viewer.program, methods=["GET", "HEAD"]),
        Route("/compare", viewer.compare, methods=["GET", "HEAD"]),
        Route("/rare", viewer.rare, methods=["GET", "HEAD"]),
        Route("/report", viewer.report, methods=["GET", "HEAD"]),
        Route("/front", viewer.front, methods=["GET", "HEAD"]),
        Route("/holes", viewer.holes, methods=["GET", "HEAD"]),
        Route("/api/status", viewer.status, methods=["GET", "HEAD"]),
        Route("/api/references", viewer.references, methods=["GET", "HEAD"]),
        Route("/static/plotly.min.js", viewer.plotly, methods=["GET", "HEAD"]),
        Route(
            "/favicon.ico", lambda r: RedirectResponse("/static/favicon.svg", 301), methods=["GET", "HEAD"]
        ),
        Mount("/static", StaticFiles(packages=[("evolve.outputs.viewer", "static")]), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        reader.close()

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: viewer.error, Exception: viewer.error},
        lifespan=lifespan,
    )
    app.state.viewer = viewer
    app.add_middleware(Guard, token=token, allowed_hosts=allowed_hosts)
    return app

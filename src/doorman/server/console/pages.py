"""Console pages: one shared layout, one body fragment and one script per page.

Pages are plain HTML with no inline script or style (the Content-Security-Policy forbids both);
each page's script fills it from the admin API. A request without a valid session is sent to
the sign-in page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from doorman.auth.sessions import SESSION_COOKIE, sessions_for
from doorman.errors import AuthenticationFailed
from doorman.server.console.headers import SECURITY_HEADERS, SecurityHeaders
from doorman.server.console.session import current, sign_in, sign_out

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SIGNIN_PATH = "/console/signin"


@dataclass(frozen=True, slots=True)
class Page:
    name: str  # template, script and URL name
    title: str
    path: str  # URL under /console


PAGES: tuple[Page, ...] = (
    Page("overview", "Overview", "/"),
    Page("users", "Users", "/users"),
    Page("keys", "Keys", "/keys"),
    Page("providers", "Providers", "/providers"),
    Page("screening", "Screening", "/screening"),
    Page("approvals", "Approvals", "/approvals"),
)


@cache
def _template(name: str) -> str:
    return (TEMPLATES / f"{name}.html").read_text(encoding="utf-8")


def _nav(current_page: str) -> str:
    links = []
    for page in PAGES:
        here = ' aria-current="page"' if page.name == current_page else ""
        links.append(f'<a href="/console{page.path}"{here}>{escape(page.title)}</a>')
    return "\n      ".join(links)


def render(page: Page) -> str:
    return Template(_template("layout")).substitute(
        title=escape(page.title), page=page.name, nav=_nav(page.name), body=_template(page.name)
    )


def _html(text: str) -> Response:
    headers = {**SECURITY_HEADERS, "cache-control": "no-store"}
    return HTMLResponse(text, headers=headers)


async def _signed_in(request: Request) -> bool:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return False
    try:
        await (await sessions_for(request.app.state.doorman)).check(cookie)
    except AuthenticationFailed:
        return False
    return True


def _page_endpoint(page: Page) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if not await _signed_in(request):
            return RedirectResponse(SIGNIN_PATH, 303, headers=SECURITY_HEADERS)
        return _html(render(page))

    endpoint.__name__ = f"console_{page.name}"
    endpoint.__doc__ = f"``GET /console{page.path}`` — the console's {page.title} page (HTML)."
    return endpoint


async def signin_page(request: Request) -> Response:
    """``GET /console/signin`` — the sign-in form (HTML)."""
    return _html(_template("signin"))


def console_routes() -> list[BaseRoute]:
    """Routes to mount at ``/console`` (a plain route list, so handlers see the gateway app)."""
    routes: list[BaseRoute] = [
        Route(page.path, _page_endpoint(page), methods=["GET"]) for page in PAGES
    ]
    routes += [
        Route("/signin", signin_page, methods=["GET"]),
        Route("/session", sign_in, methods=["POST"]),
        Route("/session", current, methods=["GET"]),
        Route("/session", sign_out, methods=["DELETE"]),
        Mount("/static", app=SecurityHeaders(StaticFiles(directory=STATIC)), name="console_static"),
    ]
    return routes

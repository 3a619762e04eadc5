"""The console's plumbing: its configuration, templates, the signed-in operator, CSRF, forms.

Sign-in sessions ride in an HttpOnly cookie (``Secure`` unless the console is reached on a
loopback address over plain http, ``SameSite=Lax``, path ``/console``). Every form carries a
CSRF token: the session's own once signed in, and before that (the sign-in form) a random
value also set as a cookie (double submit). A POST without the right token is refused with
403 before anything is read from its fields.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from mppay.domain.identifiers import BEIJING
from mppay.usecases.context import ServiceContext
from mppay.usecases.errors import Unauthenticated
from mppay.usecases.operators import ConsoleSession, Operators
from mppay.web.console import views
from mppay.web.console.i18n import LABELS, LANGUAGES, translator
from mppay.web.rate_limit import TokenBuckets

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "ConsoleConfig",
    "ConsoleState",
    "Operator",
    "check_csrf",
    "client_ip",
    "form_fields",
    "render",
]

SESSION_COOKIE = "mppay_console"
CSRF_COOKIE = "mppay_console_csrf"
LANG_COOKIE = "mppay_console_lang"
PATH = "/console"
MAX_FORM_BYTES = 16 * 1024


@dataclass
class ConsoleConfig:
    """Settings of the console (``MPPAY_CONSOLE_*``, ``MPPAY_SUPPORT_REFUND_LIMIT_FEN``)."""

    support_refund_limit_fen: int = 10_000
    idle_timeout: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)
    sign_in_rate_per_minute: float = 10.0
    sign_in_burst: int = 5
    # Set by the sandbox: the emulator's URL for the banner, and the published password allowed.
    emulator_url: str | None = None

    @property
    def sandbox(self) -> bool:
        return self.emulator_url is not None


@dataclass
class ConsoleState:
    config: ConsoleConfig
    operators: Operators
    buckets: TokenBuckets
    templates: Environment = field(
        default_factory=lambda: Environment(
            loader=PackageLoader("mppay.web.console", "templates"),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
        )
    )

    @classmethod
    def build(cls, ctx: ServiceContext, config: ConsoleConfig) -> ConsoleState:
        return cls(
            config=config,
            operators=Operators(
                ctx.uow,
                ctx.clock,
                idle_timeout=config.idle_timeout,
                lifetime=config.lifetime,
                allow_sandbox_password=config.sandbox,
            ),
            buckets=TokenBuckets(
                rate_per_minute=config.sign_in_rate_per_minute, burst=config.sign_in_burst
            ),
        )


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_secure_origin(request: Request) -> bool:
    """Cookies are ``Secure`` unless this is plain http on a loopback address (local use)."""
    if request.url.scheme == "https":
        return True
    host = request.url.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def set_cookie(request: Request, response: Response, name: str, value: str, **extra: Any) -> None:
    response.set_cookie(
        name,
        value,
        path=PATH,
        httponly=True,
        secure=is_secure_origin(request),
        samesite="lax",
        **extra,
    )


def language(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "zh")
    return lang if lang in LANGUAGES else "zh"


def check_csrf(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing or empty token on either side fails."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def form_fields(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body's fields (the last value of a repeat)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in form (``expired`` says why)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("sign in")
        self.expired = expired


class CsrfRefused(Exception):
    """A POST without the right CSRF token (403)."""


@dataclass(frozen=True)
class Signed:
    """The signed-in operator of a request."""

    session: ConsoleSession
    ip: str

    @property
    def role(self) -> str:
        return self.session.operator.role

    @property
    def username(self) -> str:
        return self.session.operator.username


async def _operator(request: Request) -> Signed:
    state = state_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise SignInRequired(expired=False)
    try:
        session = await state.operators.authenticate(token)
    except Unauthenticated as exc:
        raise SignInRequired(expired=exc.code == "SESSION_EXPIRED") from exc
    return Signed(session, client_ip(request))


Operator = Annotated[Signed, Depends(_operator)]


async def posted(request: Request, operator: Signed) -> dict[str, str]:
    """The form of a signed-in POST, after its CSRF token was checked."""
    fields = await form_fields(request)
    if not check_csrf(operator.session.csrf_token, fields.get("csrf_token")):
        raise CsrfRefused
    return fields


def render(
    request: Request,
    template: str,
    operator: Signed | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    state = state_of(request)
    lang = language(request)
    # ?done=<action> after a redirect: a fixed label, never text from the URL.
    done = f"done_{request.query_params.get('done', '')}"
    page = state.templates.get_template(template).render(
        t=translator(lang),
        lang=lang,
        fen=views.fen,
        beijing=views.beijing,
        config=state.config,
        operator=operator,
        csrf_token=operator.session.csrf_token if operator else values.pop("csrf_token", ""),
        path=request.url.path,
        query=str(request.url.query),
        zone=BEIJING,
        notice_key=done if done in LABELS and status_code < 400 else None,
        **values,
    )
    response = HTMLResponse(page, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "script-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    )
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)

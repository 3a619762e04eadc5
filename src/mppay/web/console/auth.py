"""Signing in and out, and the language switch.

The sign-in form is rate-limited per client address and per username (token buckets:
``MPPAY_CONSOLE_SIGN_IN_RATE_PER_MINUTE``, bursts of ``MPPAY_CONSOLE_SIGN_IN_BURST``), checked
before the password is, so guessing costs time whatever the answer.
"""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from mppay.usecases.errors import Unauthenticated
from mppay.web.console.core import (
    CSRF_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    Operator,
    check_csrf,
    client_ip,
    form_fields,
    new_csrf,
    posted,
    redirect,
    render,
    set_cookie,
    state_of,
)
from mppay.web.console.i18n import LANGUAGES

router = APIRouter(prefix="/console", include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path inside the console: never another host (an open redirect)."""
    if not target or not target.startswith("/console/") or target.startswith("//"):
        return "/console/"
    if any(char in target for char in "\\\r\n"):
        return "/console/"
    return target


def _form(
    request: Request,
    *,
    status_code: int = 200,
    message_key: str | None = None,
    next_url: str = "/console/",
    username: str = "",
) -> HTMLResponse:
    token = new_csrf()
    response = render(
        request,
        "sign_in.html",
        None,
        status_code=status_code,
        csrf_token=token,
        message_key=message_key,
        next_url=next_url,
        username=username,
    )
    set_cookie(request, response, CSRF_COOKIE, token)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(
    request: Request,
    expired: Annotated[str | None, Query(max_length=1)] = None,
    next: Annotated[str | None, Query(max_length=512)] = None,
) -> HTMLResponse:
    return _form(
        request, message_key="session_expired" if expired else None, next_url=safe_next(next)
    )


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    state = state_of(request)
    fields = await form_fields(request)
    next_url = safe_next(fields.get("next"))
    username = fields.get("username", "")[:64]
    if not check_csrf(request.cookies.get(CSRF_COOKIE), fields.get("csrf_token")):
        return _form(request, status_code=403, message_key="csrf_failed", next_url=next_url)
    ip = client_ip(request)
    waits = [
        state.buckets.take(f"ip:{ip}"),
        state.buckets.take(f"user:{username.strip().lower()}"),
    ]
    if max(waits) > 0:
        response = _form(
            request,
            status_code=429,
            message_key="rate_limited",
            next_url=next_url,
            username=username,
        )
        response.headers["Retry-After"] = str(max(1, math.ceil(max(waits))))
        return response
    try:
        issued = await state.operators.sign_in(username, fields.get("password", ""), ip)
    except Unauthenticated:
        return _form(
            request,
            status_code=401,
            message_key="sign_in_failed",
            next_url=next_url,
            username=username,
        )
    signed_in = redirect(next_url)
    set_cookie(request, signed_in, SESSION_COOKIE, issued.token)
    signed_in.delete_cookie(CSRF_COOKIE, path="/console")
    return signed_in


@router.post("/sign-out")
async def sign_out(request: Request, operator: Operator) -> Response:
    await posted(request, operator)
    await state_of(request).operators.sign_out(operator.session, operator.ip)
    response = redirect("/console/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.get("/lang/{code}")
async def switch_language(
    request: Request,
    code: str,
    next: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    response = redirect(safe_next(next))
    if code in LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, code, max_age=365 * 86400)
    return response


def sign_in_redirect(request: Request, *, expired: bool) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/console/"
    query = f"?next={quote(safe_next(target), safe='/')}" + ("&expired=1" if expired else "")
    response = redirect(f"/console/sign-in{query}")
    if expired:
        response.delete_cookie(SESSION_COOKIE, path="/console")
    return response

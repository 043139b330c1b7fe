"""One web server (`perfagent serve`): the Gradio UI at `/` in a FastAPI app, with the Slack
routes (`/slack/events`, `/slack/commands`) beside it.

Sign-in is Gradio's: a login page checked against `SignIn` (users file, and the demo password in
demo mode), or, when `ui.trusted_header` is set, the header a company's SSO proxy adds. The
process owns the Chroma directory (embedded Chroma is one process's), so uploads are ingested
here, not by a second process.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from perfagent.ui.accounts import SignIn, header_identity
from perfagent.ui.gradio_ui import CSS, PerfagentUI, UiOptions

log = logging.getLogger(__name__)


def build_app(
    container: Any,
    sign_in: SignIn,
    options: UiOptions | None = None,
    *,
    trusted_header: str | None = None,
    slack_routes: APIRouter | None = None,
) -> FastAPI:
    """The app: `/healthz`, the Slack routes (`slack_routes`, from
    `perfagent.slack.router.build_slack_routes`) and the Gradio UI at `/`, mounted last so the
    other routes come first."""
    import gradio as gr

    app = FastAPI(title="perfagent", docs_url=None, redoc_url=None)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    if slack_routes is not None:
        app.include_router(slack_routes)

    ui = PerfagentUI(container, sign_in, options)
    blocks = ui.build()
    blocks.queue(default_concurrency_limit=(options or UiOptions()).max_concurrent_chats)
    auth: dict[str, Any]
    if trusted_header:
        auth = {"auth_dependency": header_identity(trusted_header, container.org)}
    else:
        auth = {"auth": sign_in.check, "auth_message": _login_message(sign_in)}
    return gr.mount_gradio_app(
        app,
        blocks,
        path="",
        css=CSS,
        footer_links=[],
        ssr_mode=False,
        **auth,
    )


def _login_message(sign_in: SignIn) -> str:
    message = "Sign in with your employee id (or email) and password."
    if sign_in.demo:
        accounts = ", ".join(
            f"{a.employee_id} ({a.name}, {a.role})" for a in sign_in.demo_accounts()
        )
        message += f" Demo organisation: try {accounts}; password: {sign_in.demo_password}"
    return message

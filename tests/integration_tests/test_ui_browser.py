"""The web UI in a real browser: Playwright driving Debian's Chromium against the real server
(real agent, model, Chroma). Sign-in, a streamed cited answer whose source opens, an IC's
refusal, separate sessions, the score chart, a draft downloaded as Markdown and .docx, and HR's
upload with per-file skip reasons.

`PERFAGENT_SCREENSHOTS=DIR` saves a screenshot of each main view there (docs/screenshots is
refreshed that way: `make screenshots`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perfagent.agent.chat_model import LocalChatModel
from perfagent.ui.accounts import SignIn
from perfagent.ui.gradio_ui import UiOptions
from perfagent.ui.server import build_app
from tests.ui_server import CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD, serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium (make test installs it)"
    ),
]

ANSWER_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def url(demo_container: Any, chat_models_dir: Path, tmp_path_factory: Any) -> Iterator[str]:
    demo_container.__dict__["chat_model"] = LocalChatModel(models_dir=str(chat_models_dir))
    sign_in = SignIn(demo_container.org, None, demo_password=DEMO_PASSWORD)
    options = UiOptions(demo=True, uploads_dir=tmp_path_factory.mktemp("uploads"))
    with serving(build_app(demo_container, sign_in, options)) as base:
        yield base


@pytest.fixture(scope="module")
def admin_url(demo_dir: Path, shared_embeddings: Any, tmp_path_factory: Any) -> Iterator[str]:
    """A server over an empty home (the demo org, no documents yet) for HR's uploads, so the
    shared demo store stays as the other tests expect it."""
    from perfagent.container import Container
    from perfagent.settings import load_settings

    home = tmp_path_factory.mktemp("admin-home")
    container = Container(
        load_settings(home), writable=True, purpose="tests", embeddings=shared_embeddings
    )
    container.install_org(demo_dir / "org.csv")
    sign_in = SignIn(container.org, None, demo_password=DEMO_PASSWORD)
    options = UiOptions(demo=True, uploads_dir=home / "uploads")
    with serving(build_app(container, sign_in, options)) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx
    ctx.close()


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("PERFAGENT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def sign_in(context: Any, url: str, user: str, password: str = DEMO_PASSWORD) -> Any:
    page = context.new_page()
    page.goto(url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.locator("#question textarea").wait_for(timeout=30_000)
    return page


def ask(page: Any, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def test_a_wrong_password_does_not_sign_in(context: Any, url: str) -> None:
    page = context.new_page()
    page.goto(url)
    page.get_by_label("username").fill("E003")
    page.get_by_label("password").fill("not-the-password")
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Incorrect Credentials").wait_for(timeout=10_000)
    assert page.locator("#question").count() == 0


def test_a_manager_sees_a_streamed_cited_answer_and_opens_its_source(
    context: Any, url: str
) -> None:
    page = sign_in(context, url, "E003")
    page.get_by_text("Signed in as Dana Whitfield").wait_for()
    # the examples fit the person: Dana manages Kenji
    assert page.locator("#chat").get_by_text("How did Kenji do on collaboration").count() == 1
    _shot(page, "sign-in-examples")
    ask(page, "How did Sofia do on collaboration last quarter?")
    chat = page.locator("#chat")
    chat.get_by_text("Scored dimensions").wait_for(timeout=ANSWER_TIMEOUT_MS)
    chat.get_by_text("Sources").wait_for(timeout=ANSWER_TIMEOUT_MS)
    text = chat.inner_text()
    assert "collaboration" in text and "[1]" in text
    assert "Advisory" in text
    _shot(page, "chat-answer")
    chat.get_by_role("button", name="Open [1]").first.click()
    document = page.locator("#document")
    document.locator("strong").first.wait_for(timeout=10_000)
    quote = document.locator("strong").first.inner_text()
    assert len(quote) > 20 and quote.split()[0] in text  # the cited quote, highlighted
    _shot(page, "chat-source")


def test_an_ic_asking_about_a_peer_is_refused(context: Any, url: str) -> None:
    page = sign_in(context, url, "E008")
    ask(page, "How is Michael doing on delivery this year?")
    chat = page.locator("#chat")
    chat.get_by_text("don't have access").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Sources" not in chat.inner_text()


def test_a_session_never_sees_another_sessions_conversation(browser: Any, url: str) -> None:
    first = browser.new_context()
    second = browser.new_context()
    try:
        dana = sign_in(first, url, "E003")
        ask(dana, "What did Michael say in his weekly reports about the reconciliation job?")
        dana.locator("#chat").get_by_text("Searched documents").wait_for(timeout=ANSWER_TIMEOUT_MS)
        other = sign_in(second, url, "E003")  # the same person, another browser
        other.wait_for_timeout(1000)
        assert "reconciliation" not in other.locator("#chat").inner_text()
        # a new conversation empties the chat in place
        dana.get_by_role("button", name="New conversation").click()
        dana.wait_for_timeout(1000)
        assert "reconciliation" not in dana.locator("#chat").inner_text()
    finally:
        first.close()
        second.close()


def test_the_score_chart_marks_insufficient_evidence(context: Any, url: str) -> None:
    page = sign_in(context, url, "E003")
    page.get_by_role("tab", name="Scores").click()
    # Noah joined in September: thin evidence
    page.locator("#score-person input").fill("Noah")
    page.get_by_role("option", name="Noah Fischer (E012)").click()
    page.get_by_role("button", name="Show scores").click()
    chart = page.locator("#score-chart svg.score-chart")
    chart.wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert chart.locator("rect[data-insufficient]").count() >= 1
    assert "insufficient evidence" in page.locator("#evidence-chain").inner_text()
    page.locator("#score-person input").fill("Sofia")
    page.get_by_role("option", name="Sofia Rossi (E008)").click()
    page.get_by_role("button", name="Show scores").click()
    page.locator("#score-chart").get_by_text("Sofia Rossi ·").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert page.locator("#score-chart svg.score-chart rect[data-score]").count() >= 1
    _shot(page, "scores")


def test_a_draft_is_edited_checked_and_downloaded(context: Any, url: str, tmp_path: Path) -> None:
    from docx import Document

    page = sign_in(context, url, "E003")
    page.get_by_role("tab", name="Drafts").click()
    page.locator("#draft-person input").fill("Sofia")
    page.get_by_role("option", name="Sofia Rossi (E008)").click()
    page.get_by_role("button", name="Draft", exact=True).click()
    text_box = page.locator("#draft-text textarea")
    page.wait_for_function(
        "() => document.querySelector('#draft-text textarea').value.includes('[1]')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    # an edit with a personality word is flagged by "Check wording"
    text_box.fill(text_box.input_value() + "\nSofia is abrasive in meetings.")
    page.get_by_role("button", name="Check wording").click()
    page.locator("#draft-warnings").get_by_text("abrasive").first.wait_for(timeout=10_000)
    _shot(page, "draft")
    page.wait_for_timeout(1500)  # the download buttons are refreshed beside the check
    with page.expect_download() as md_download:
        page.get_by_role("button", name="Download .md").click()
    md = Path(md_download.value.path()).read_text(encoding="utf-8")
    assert "abrasive in meetings" in md and "## Sources" in md
    with page.expect_download() as docx_download:
        page.get_by_role("button", name="Download .docx").click()
    saved = tmp_path / "draft.docx"
    docx_download.value.save_as(saved)
    body = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    assert "abrasive in meetings" in body and "Sources" in body


def test_only_hr_sees_admin_and_an_upload_reports_each_skipped_file(
    browser: Any, context: Any, admin_url: str, tmp_path: Path
) -> None:
    manager = sign_in(context, admin_url, "E003")
    manager.get_by_text("Signed in as Dana Whitfield").wait_for()
    assert manager.get_by_role("tab", name="Admin").count() == 0
    hr_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = sign_in(hr_context, admin_url, "E001")
    page.get_by_role("tab", name="Admin").click()
    page.locator("#loaded").get_by_text("0 documents").wait_for(timeout=10_000)
    good = tmp_path / "2026-10-01-sofia-recognition.md"
    good.write_text(
        "---\nemployee_id: E008\nauthor_id: E001\ndoc_type: recognition\ndate: 2026-10-01\n"
        "title: Kudos for the payout fix\n---\nSofia fixed the payout rounding bug in a day.\n",
        encoding="utf-8",
    )
    bad = tmp_path / "no-front-matter.md"
    bad.write_text("just some notes\n", encoding="utf-8")
    page.locator("#upload-docs input[type=file]").set_input_files([str(good), str(bad)])
    page.wait_for_timeout(1500)
    page.get_by_role("button", name="Load", exact=True).click()
    result = page.locator("#ingest-result")
    result.get_by_text("skipped").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    text = result.inner_text()
    assert "1 new" in text and "no-front-matter.md" in text
    assert "1 documents" in page.locator("#loaded").inner_text()
    _shot(page, "admin")
    hr_context.close()

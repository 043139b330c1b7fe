"""The web server over real HTTP with `gradio_client`: sign-in required, wrong passwords refused,
answers as the signed-in person (never another), the trusted-header mode, HR-only ingest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from perfagent.agent.chat_model import LocalChatModel
from perfagent.ui.accounts import SignIn, UserStore
from perfagent.ui.gradio_ui import UiOptions
from perfagent.ui.server import build_app
from tests.ui_server import DEMO_PASSWORD, serving

pytestmark = pytest.mark.slow

MANAGER, IC, HR = "E003", "E008", "E001"


@pytest.fixture(scope="module")
def container(demo_container: Any, chat_models_dir: Path) -> Any:
    demo_container.__dict__["chat_model"] = LocalChatModel(models_dir=str(chat_models_dir))
    return demo_container


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> UserStore:
    store = UserStore(tmp_path_factory.mktemp("accounts") / "users.json")
    store.set_password(MANAGER, "dana-password")
    return store


@pytest.fixture(scope="module")
def url(
    container: Any, users: UserStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    sign_in = SignIn(container.org, users, demo_password=DEMO_PASSWORD)
    options = UiOptions(demo=True, uploads_dir=tmp_path_factory.mktemp("uploads"))
    with serving(build_app(container, sign_in, options)) as base:
        yield base


def _client(url: str, user: str, password: str) -> Any:
    from gradio_client import Client

    return Client(url, auth=(user, password), verbose=False)


def test_nothing_is_served_without_signing_in(url: str) -> None:
    from gradio_client import Client

    with pytest.raises(Exception, match="credentials were not provided"):
        Client(url, verbose=False)
    # the queue refuses an anonymous call outright, whatever it names
    response = httpx.post(
        f"{url}gradio_api/queue/join",
        json={"data": ["How is Sofia doing?"], "fn_index": 0, "session_hash": "x"},
    )
    assert response.status_code in (401, 403), response.text


def test_a_wrong_password_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="Could not login"):
        _client(url, MANAGER, "not-danas-password")
    with pytest.raises(ValueError, match="Could not login"):
        _client(url, "E999", DEMO_PASSWORD)  # nobody of that id


def test_the_users_file_and_the_demo_password_both_sign_in(url: str) -> None:
    _client(url, MANAGER, "dana-password")
    _client(url, "dana.whitfield@lumenfreight.example", DEMO_PASSWORD)


def test_a_manager_gets_a_cited_answer_about_a_report(url: str) -> None:
    client = _client(url, MANAGER, "dana-password")
    result = client.predict("How did Sofia do on collaboration last quarter?", api_name="/ask")
    assert result["tool_calls"][0]["name"] == "score_dimensions"
    assert result["citations"] and not result["refused"]
    assert "[1]" in result["answer"]


def test_an_ic_asking_about_a_peer_is_refused(url: str) -> None:
    client = _client(url, IC, DEMO_PASSWORD)
    result = client.predict("How is Michael doing on delivery this year?", api_name="/ask")
    assert result["refused"] is True
    assert result["citations"] == []
    assert "don't have access" in result["answer"]


def test_the_caller_is_the_signed_in_person_whatever_the_api_sends(url: str) -> None:
    """Scores over the API: the IC may score themself, not their manager, even by id."""
    client = _client(url, IC, DEMO_PASSWORD)
    chart, chain = client.predict("E008", "", api_name="/scores")
    assert "data-score" in chart or "data-insufficient" in chart
    assert chain.startswith("_Advisory")
    with pytest.raises(Exception, match="may not see"):
        client.predict(MANAGER, "", api_name="/scores")


def test_ingest_is_for_hr_only(container: Any, url: str) -> None:
    """The admin handler checks the role itself: a hidden tab is not a permission."""
    import gradio as gr

    from perfagent.ui.gradio_ui import PerfagentUI

    ui = PerfagentUI(container, SignIn(container.org, None, demo_password=DEMO_PASSWORD))

    class _Request:
        username = MANAGER

    with pytest.raises(gr.Error, match="Only HR"):
        ui.ingest([], None, _Request())  # type: ignore[arg-type]


def test_a_proxy_header_signs_in_when_configured(container: Any) -> None:
    sign_in = SignIn(container.org, None)
    app = build_app(container, sign_in, UiOptions(), trusted_header="X-Forwarded-Email")
    with serving(app) as base:
        from gradio_client import Client

        client = Client(
            base, headers={"X-Forwarded-Email": "sofia.rossi@lumenfreight.example"}, verbose=False
        )
        chart, _ = client.predict("E008", "", api_name="/scores")
        assert "Sofia Rossi" in chart
        with pytest.raises(Exception, match="may not see"):
            client.predict(MANAGER, "", api_name="/scores")
        # without the header (or with someone unknown) there is no user
        anonymous = httpx.get(base, headers={"X-Forwarded-Email": "nobody@example.com"})
        assert "auth_required" in anonymous.text or anonymous.status_code in (401, 403)

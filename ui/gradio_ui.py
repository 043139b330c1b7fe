"""The Gradio front end: chat, scores, drafts and (for HR) ingest, for the signed-in person.

Every handler starts from the session's signed-in user (`gr.Request.username`, set by Gradio's
sign-in or the company proxy's header) and turns it into a `Viewer`; nothing a page sends (a
hidden field, an API call) can name another identity. Hidden tabs are only convenience: the
handlers check the role again.

A chat turn streams `PerfAgent.stream` events: each tool call becomes a collapsible step
(`gr.ChatMessage` metadata: title, arguments, status, duration), the answer arrives paragraph by
paragraph, then its Sources (title, type, date, quote) with one option per source that opens the
document in the side panel, if the viewer may read it.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import gradio as gr

from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.org import OrgChart, Person
from perfagent.periods import parse_period
from perfagent.retrieval.access import Viewer
from perfagent.ui import render
from perfagent.ui.accounts import SignIn
from perfagent.ui.export import draft_markdown, write_docx

log = logging.getLogger(__name__)

ADMIN_ROLE = "hr"
DRAFT_KINDS = ("manager", "self", "peer")
CSS = """
.score-chart svg { max-width: 100%; height: auto; }
#signed-in { text-align: right; }
"""


@dataclass
class UiOptions:
    """What the server decided about this UI: demo mode and where uploads go."""

    demo: bool = False
    uploads_dir: Path | None = None
    max_concurrent_chats: int = 10
    today: Callable[[], date] | None = None


class PerfagentUI:
    """Builds the Blocks and holds the handlers. Services come from `container` at each call, so
    an org file uploaded by HR takes effect without a restart."""

    def __init__(self, container: Any, sign_in: SignIn, options: UiOptions | None = None) -> None:
        self.container = container
        self.sign_in = sign_in
        self.options = options or UiOptions()

    # --- identity --------------------------------------------------------------------------------

    @property
    def org(self) -> OrgChart:
        return self.container.org

    def viewer(self, request: gr.Request | None) -> Viewer:
        username = getattr(request, "username", None) if request is not None else None
        person = self.sign_in.person(username) if username else None
        if person is None:
            raise gr.Error("Please sign in.")
        return self.container.search_service.policy.viewer(person.employee_id)

    def visible_people(self, viewer: Viewer) -> list[Person]:
        """Whom the viewer may score or read about: themself, their tree, or everyone (HR)."""
        people = sorted(self.org, key=lambda p: p.name)
        return [p for p in people if viewer.may_see_subject(p.employee_id)]

    def example_questions(self, viewer: Viewer) -> list[str]:
        me = viewer.person
        reports = [self.org.get(i) for i in self.org.direct_reports(me.employee_id)]
        if viewer.is_hr:
            others = [p for p in sorted(self.org, key=lambda p: p.employee_id) if p != me]
            someone = next((p for p in others if p.role == "employee"), others[0] if others else me)
            return [
                f"How is {someone.name} doing on collaboration this year?",
                f"What did {someone.first_name}'s peers say about them since June?",
                f"Draft a manager review for {someone.first_name} for H1",
            ]
        if reports:
            report = sorted(reports, key=lambda p: p.employee_id)[0]
            return [
                f"How did {report.first_name} do on collaboration last quarter?",
                f"Show me {report.first_name}'s weekly reports about deadlines",
                f"Draft a manager review for {report.first_name} for H1",
            ]
        return [
            "Draft my self-review for H1",
            "How am I doing on delivery this year?",
            "What did my peers say about me?",
        ]

    # --- page load -------------------------------------------------------------------------------

    def on_load(self, request: gr.Request) -> tuple[Any, ...]:
        viewer = self.viewer(request)
        me = viewer.person
        role = "HR" if viewer.is_hr else ("manager" if viewer.managed else "employee")
        header = f"Signed in as **{me.name}** ({me.employee_id}, {role})"
        if self.options.demo:
            header += " · demo organisation"
        people = [
            (f"{p.name} ({p.employee_id})", p.employee_id) for p in self.visible_people(viewer)
        ]
        everyone = [
            (f"{p.name} ({p.employee_id})", p.employee_id)
            for p in sorted(self.org, key=lambda p: p.name)
        ]
        examples = [{"text": q} for q in self.example_questions(viewer)]
        return (
            header,
            gr.update(examples=examples, value=[]),
            {"thread": uuid.uuid4().hex, "sources": {}},
            gr.update(choices=people, value=me.employee_id),
            gr.update(choices=everyone, value=me.employee_id),
            gr.update(visible=viewer.is_hr),
            self.loaded_summary(viewer) if viewer.is_hr else "",
        )

    # --- chat ------------------------------------------------------------------------------------

    def new_conversation(self) -> tuple[list[Any], dict[str, Any], str]:
        return [], {"thread": uuid.uuid4().hex, "sources": {}}, ""

    def respond(
        self,
        message: str,
        history: list[Any],
        state: dict[str, Any],
        request: gr.Request,
    ) -> Iterator[tuple[list[Any], str, dict[str, Any]]]:
        from perfagent.agent.graph import AgentAnswer, AnswerText, ToolDone, ToolStep

        viewer = self.viewer(request)
        question = (message or "").strip()
        if not question:
            yield history, "", state
            return
        state = dict(state or {})
        state.setdefault("thread", uuid.uuid4().hex)
        sources_seen: dict[str, str] = dict(state.get("sources") or {})
        history = [*history, gr.ChatMessage(role="user", content=question)]
        yield history, "", state
        steps: dict[int, int] = {}  # step number -> index in history
        answer_at: int | None = None
        try:
            for event in self.container.agent.stream(
                viewer, question, thread_id=state["thread"], today=self._today()
            ):
                if isinstance(event, ToolStep):
                    number = len(steps) + 1
                    steps[number] = len(history)
                    history.append(
                        gr.ChatMessage(
                            role="assistant",
                            content=render.args_text(event.args),
                            metadata={
                                "title": render.tool_step_title(event.name),
                                "id": f"step-{number}",
                                "status": "pending",
                            },
                        )
                    )
                elif isinstance(event, ToolDone):
                    at = steps.get(len(steps))
                    if at is not None:
                        step = history[at]
                        history[at] = gr.ChatMessage(
                            role="assistant",
                            content=f"{render.args_text(event.args)}\n\n"
                            f"{render.step_summary(event.name, event.artifact)}",
                            metadata={
                                **dict(step.metadata),
                                "status": "done",
                                "duration": round(event.seconds, 2),
                            },
                        )
                elif isinstance(event, AnswerText):
                    if event.sources:
                        continue  # rendered from the citations below, with titles
                    if answer_at is None:
                        answer_at = len(history)
                        history.append(gr.ChatMessage(role="assistant", content=event.text))
                    else:
                        previous = history[answer_at]
                        history[answer_at] = gr.ChatMessage(
                            role="assistant", content=str(previous.content) + event.text
                        )
                elif isinstance(event, AgentAnswer):
                    sources = self.sources(viewer, event.citations)
                    for s in sources:
                        sources_seen[f"{s.doc_id}#{s.n}"] = s.quote
                    body = event.body if answer_at is None else str(history[answer_at].content)
                    content = body
                    if sources:
                        content += "\n\n" + render.sources_markdown(sources)
                    message_out = gr.ChatMessage(
                        role="assistant",
                        content=content,
                        options=[
                            {"value": f"{s.doc_id}#{s.n}", "label": f"Open {s.label()}"}
                            for s in sources
                        ],
                    )
                    if answer_at is None:
                        history.append(message_out)
                    else:
                        history[answer_at] = message_out
                state = {**state, "sources": sources_seen}
                yield history, "", state
        except BadInputError as exc:
            history.append(gr.ChatMessage(role="assistant", content=f"⚠️ {exc}"))
            yield history, "", state
        except Exception:
            log.exception("chat turn failed")
            history.append(
                gr.ChatMessage(
                    role="assistant",
                    content="⚠️ Something went wrong answering that. Please try again.",
                )
            )
            yield history, "", state

    def sources(self, viewer: Viewer, citations: list[dict[str, Any]]) -> list[render.Source]:
        titles: dict[str, str] = {}
        out = []
        for c in citations:
            doc_id = str(c["doc_id"])
            if doc_id not in titles:
                try:
                    titles[doc_id] = self.container.search_service.document(viewer, doc_id).title
                except PermissionRefusal:
                    titles[doc_id] = ""
            out.append(
                render.Source(
                    n=int(c["n"]),
                    doc_id=doc_id,
                    title=titles[doc_id],
                    doc_type=str(c["doc_type"]),
                    date=str(c["date"]),
                    quote=str(c["quote"]),
                )
            )
        return out

    def open_source(
        self, state: dict[str, Any], evt: gr.SelectData, request: gr.Request
    ) -> tuple[str, Any]:
        viewer = self.viewer(request)
        value = str(evt.value.get("value") if isinstance(evt.value, dict) else evt.value)
        doc_id = value.split("#", 1)[0]
        quote = (state or {}).get("sources", {}).get(value)
        return self.document_panel(viewer, doc_id, quote)

    def document_panel(self, viewer: Viewer, doc_id: str, quote: str | None) -> tuple[str, Any]:
        try:
            doc = self.container.search_service.document(viewer, doc_id)
        except PermissionRefusal:
            return "You may not open that document.", gr.update(visible=True)
        return render.document_markdown(doc.to_json(), quote), gr.update(visible=True)

    def ask_api(self, question: str, request: gr.Request) -> dict[str, Any]:
        """One turn for API clients (`gradio_client`): the contract's `ask` JSON."""
        viewer = self.viewer(request)
        try:
            answer = self.container.agent.ask(viewer, question, today=self._today())
        except BadInputError as exc:
            raise gr.Error(str(exc)) from None
        return answer.to_json()

    def _today(self) -> date | None:
        return self.options.today() if self.options.today else None

    # --- scores ----------------------------------------------------------------------------------

    def show_scores(
        self, employee_id: str, period_text: str, request: gr.Request
    ) -> tuple[str, str]:
        viewer = self.viewer(request)
        if not employee_id:
            raise gr.Error("Choose a person.")
        try:
            period = parse_period(period_text.strip()) if period_text.strip() else None
            report = self.container.scoring_service.score(viewer, employee_id, period=period)
        except PermissionRefusal:
            raise gr.Error("You may not see that person's scores.") from None
        except BadInputError as exc:
            raise gr.Error(str(exc)) from None
        data = report.to_json()
        chart = f'<div class="score-chart">{render.score_chart_svg(data)}</div>'
        return chart, render.evidence_chain_markdown(data)

    # --- drafts ----------------------------------------------------------------------------------

    def make_draft(
        self, employee_id: str, kind: str, period_text: str, request: gr.Request
    ) -> tuple[str, Any, str, dict[str, Any]]:
        viewer = self.viewer(request)
        if not employee_id:
            raise gr.Error("Choose a person.")
        try:
            period = parse_period(period_text.strip()) if period_text.strip() else None
            draft = self.container.drafting_service.draft(viewer, employee_id, kind, period=period)
        except PermissionRefusal:
            raise gr.Error("You may not write a manager review for that person.") from None
        except BadInputError as exc:
            raise gr.Error(str(exc)) from None
        data = draft.to_json()
        saved = {
            "title": f"{kind.capitalize()} review: {draft.name}, {draft.period.label}",
            "citations": data["citations"],
            "period": [draft.period.start.isoformat(), draft.period.end.isoformat()],
        }
        highlighted, warnings = self._check(draft.text, saved)
        return draft.text, highlighted, warnings, saved

    def recheck(self, text: str, saved: dict[str, Any]) -> tuple[Any, str]:
        return self._check(text or "", saved or {})

    def _check(self, text: str, saved: dict[str, Any]) -> tuple[Any, str]:
        from perfagent.tools.language_check import CitedSource, check_text

        citations = [
            CitedSource(int(c["n"]), str(c["doc_id"]), date.fromisoformat(str(c["date"])))
            for c in saved.get("citations", [])
        ]
        period = saved.get("period")
        bounds = (date.fromisoformat(period[0]), date.fromisoformat(period[1])) if period else None
        found = check_text(text, citations=citations, period=bounds)
        return render.warning_spans(text, found), render.warnings_markdown(found)

    def downloads(self, text: str, saved: dict[str, Any]) -> tuple[Any, Any]:
        """The draft as it stands, written as .md and .docx for the two download buttons
        (refreshed after each draft, edit and check, so a click downloads what is on screen)."""
        if not saved or not text:
            return gr.update(value=None), gr.update(value=None)
        from perfagent.tools.language_check import check_text

        warnings = [str(w) for w in check_text(text)]
        folder = Path(tempfile.mkdtemp(prefix="perfagent-draft-"))
        stem = "".join(ch if ch.isalnum() else "-" for ch in saved["title"]).strip("-").lower()
        markdown = folder / f"{stem}.md"
        markdown.write_text(
            draft_markdown(saved["title"], text, saved["citations"], warnings), encoding="utf-8"
        )
        docx = write_docx(
            folder / f"{stem}.docx", saved["title"], text, saved["citations"], warnings
        )
        return str(markdown), str(docx)

    def default_kind(self, employee_id: str, request: gr.Request) -> str:
        viewer = self.viewer(request)
        if employee_id == viewer.employee_id:
            return "self"
        return "manager" if employee_id in (viewer.managed or ()) else "peer"

    # --- admin -----------------------------------------------------------------------------------

    def loaded_summary(self, viewer: Viewer) -> str:
        if not viewer.is_hr:
            return ""
        store = self.container.store
        states = store.doc_states()
        by_type: dict[str, int] = {}
        chunks = store.get(with_text=False)
        seen: set[str] = set()
        for chunk in chunks:
            doc_id = str(chunk.metadata["doc_id"])
            if doc_id in seen:
                continue
            seen.add(doc_id)
            kind = str(chunk.metadata.get("doc_type"))
            by_type[kind] = by_type.get(kind, 0) + 1
        lines = [
            f"**{len(states)} documents** ({store.count()} chunks) about "
            f"{len({s.employee_id for s in states.values()})} people; "
            f"{len(list(self.org))} people in the org file.",
            "",
        ]
        lines += [f"- {k.replace('_', ' ')}: {v}" for k, v in sorted(by_type.items())]
        return "\n".join(lines)

    def ingest(
        self,
        files: list[Any] | None,
        org_file: Any,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's injection idiom
    ) -> tuple[str, str]:
        viewer = self.viewer(request)
        if not viewer.is_hr:
            raise gr.Error("Only HR may load documents.")
        if not files and org_file is None:
            raise gr.Error("Choose documents or an org file to upload.")
        root = self.options.uploads_dir or Path(tempfile.mkdtemp(prefix="perfagent-upload-"))
        batch = root / time.strftime("%Y%m%d-%H%M%S")
        batch.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        if org_file is not None:
            target = batch / "org.csv"
            shutil.copyfile(_path_of(org_file), target)
            try:
                self.container.install_org(target)
            except BadInputError as exc:
                raise gr.Error(f"org file: {exc}") from None
            self.container.reload_org()
            lines.append(f"Org file loaded: {len(list(self.org))} people.")
        if files:
            docs = batch / "documents"
            docs.mkdir(exist_ok=True)
            for f in files:
                source = Path(_path_of(f))
                shutil.copyfile(source, docs / source.name)
            progress(0, desc="reading files")

            def on_file(done: int, total: int) -> None:
                progress((done, total), desc="ingesting", unit="files")

            report = self.container.ingestor().run(docs, progress=False, on_file=on_file)
            summary, *details = report.summary().splitlines()
            lines += [summary, ""] + [f"- {line.strip()}" for line in details]
        return "\n".join(lines), self.loaded_summary(viewer)

    # --- the page --------------------------------------------------------------------------------

    def build(self) -> gr.Blocks:
        with gr.Blocks(title="perfagent") as blocks:
            with gr.Row():
                gr.Markdown("## perfagent · evidence-based performance feedback")
                signed_in = gr.Markdown(elem_id="signed-in")
                gr.Button("Sign out", link="/logout", size="sm", scale=0)
            state = gr.State({"thread": "", "sources": {}})
            with gr.Tabs():
                with gr.Tab("Chat", id="chat"), gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="perfagent",
                            height=540,
                            elem_id="chat",
                            buttons=["copy"],
                            feedback_options=None,
                            placeholder="Ask about someone's work: every answer cites its sources.",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                placeholder="e.g. How did Sofia do on collaboration last quarter?",
                                show_label=False,
                                scale=5,
                                elem_id="question",
                                max_length=2000,
                            )
                            send = gr.Button("Send", variant="primary", scale=1)
                        new_chat = gr.Button("New conversation", size="sm")
                    with gr.Column(scale=2, visible=False) as doc_column:
                        gr.Markdown("#### Source document")
                        document = gr.Markdown(elem_id="document")
                with gr.Tab("Scores", id="scores"):
                    gr.Markdown(
                        "Dimension scores from the evidence, 1 to 5. **Advisory**: an evidence "
                        "summary to inform judgement, not a rating or a decision."
                    )
                    with gr.Row():
                        score_person = _person_picker("score-person")
                        score_period = gr.Textbox(
                            label="Period",
                            placeholder="2026-Q3, 2026-H1, 2026 … (blank: six months)",
                            scale=2,
                        )
                        score_button = gr.Button("Show scores", variant="primary", scale=1)
                    chart = gr.HTML(elem_id="score-chart")
                    chain = gr.Markdown(elem_id="evidence-chain")
                with gr.Tab("Drafts", id="drafts"):
                    with gr.Row():
                        draft_person = _person_picker("draft-person")
                        draft_kind = gr.Radio(list(DRAFT_KINDS), value="self", label="Kind")
                        draft_period = gr.Textbox(
                            label="Period", placeholder="2026-H1 (blank: six months)", scale=2
                        )
                        draft_button = gr.Button("Draft", variant="primary", scale=1)
                    draft_text = gr.Textbox(
                        label="Draft (edit freely; every claim keeps its [n] source)",
                        lines=16,
                        interactive=True,
                        elem_id="draft-text",
                    )
                    draft_saved = gr.State({})
                    with gr.Row():
                        recheck = gr.Button("Check wording", size="sm")
                        download_md = gr.DownloadButton("Download .md", size="sm")
                        download_docx = gr.DownloadButton("Download .docx", size="sm")
                    highlighted = gr.HighlightedText(
                        label="Wording warnings, highlighted", combine_adjacent=False
                    )
                    warnings = gr.Markdown(elem_id="draft-warnings")
                with gr.Tab("Admin", id="admin", visible=False) as admin_tab:
                    gr.Markdown(
                        "Load documents (.md/.txt with front matter, .jsonl, .pdf/.docx with a "
                        "`.meta.yaml` sidecar) and the org file. Re-loading a file changes "
                        "nothing; a changed file replaces its old version."
                    )
                    with gr.Row():
                        upload_docs = gr.File(
                            label="Documents",
                            file_count="multiple",
                            type="filepath",
                            elem_id="upload-docs",
                        )
                        upload_org = gr.File(label="org.csv", file_types=[".csv"], type="filepath")
                    ingest_button = gr.Button("Load", variant="primary")
                    ingest_result = gr.Markdown(elem_id="ingest-result")
                    loaded = gr.Markdown(elem_id="loaded")

            blocks.load(
                self.on_load,
                outputs=[
                    signed_in,
                    chatbot,
                    state,
                    score_person,
                    draft_person,
                    admin_tab,
                    loaded,
                ],
                api_visibility="private",
            )
            chat_args = {
                "fn": self.respond,
                "inputs": [question, chatbot, state],
                "outputs": [chatbot, question, state],
                "concurrency_limit": self.options.max_concurrent_chats,
                "concurrency_id": "chat",
                "api_visibility": "private",
            }
            question.submit(**chat_args)
            send.click(**chat_args)
            chatbot.example_select(_example_text, None, question, api_visibility="private").then(
                **chat_args
            )
            chatbot.option_select(
                self.open_source, [state], [document, doc_column], api_visibility="private"
            )
            new_chat.click(
                self.new_conversation, None, [chatbot, state, question], api_visibility="private"
            ).then(lambda: gr.update(visible=False), None, doc_column, api_visibility="private")
            score_button.click(
                self.show_scores, [score_person, score_period], [chart, chain], api_name="scores"
            )
            draft_person.change(
                self.default_kind, [draft_person], [draft_kind], api_visibility="private"
            )
            draft_button.click(
                self.make_draft,
                [draft_person, draft_kind, draft_period],
                [draft_text, highlighted, warnings, draft_saved],
                api_name="draft",
            ).success(
                self.downloads,
                [draft_text, draft_saved],
                [download_md, download_docx],
                api_visibility="private",
            )
            recheck.click(
                self.recheck,
                [draft_text, draft_saved],
                [highlighted, warnings],
                api_visibility="private",
            )
            for trigger in (draft_text.blur, recheck.click):
                trigger(
                    self.downloads,
                    [draft_text, draft_saved],
                    [download_md, download_docx],
                    api_visibility="private",
                )
            ingest_button.click(
                self.ingest,
                [upload_docs, upload_org],
                [ingest_result, loaded],
                api_visibility="private",
            )
            # the API of `gradio_client` users: one turn, the contract's `ask` JSON
            api_question = gr.Textbox(visible=False)
            api_answer = gr.JSON(visible=False)
            api_question.submit(
                self.ask_api,
                [api_question],
                [api_answer],
                api_name="ask",
                concurrency_limit=self.options.max_concurrent_chats,
                concurrency_id="chat",
            )
        return blocks


def _person_picker(elem_id: str) -> gr.Dropdown:
    # choices are the signed-in person's, set at page load; any value typed or sent through the
    # API is checked by the service against the viewer's rights
    return gr.Dropdown(
        label="Person", choices=[], scale=2, allow_custom_value=True, elem_id=elem_id
    )


def _example_text(evt: gr.SelectData) -> str:
    return str(evt.value.get("text", "")) if isinstance(evt.value, dict) else str(evt.value)


def _path_of(upload: Any) -> str:
    return str(upload if isinstance(upload, str | Path) else getattr(upload, "name", upload))

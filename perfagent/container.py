"""Wires the components together (dependency injection by hand, one place, lazily).

Each component is built on first use and shared after; the CLI, the UI and tests all get their
services from a `Container`, so a test can hand it settings pointing at a temporary home.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from perfagent.errors import BadInputError
from perfagent.org import OrgChart
from perfagent.settings import Settings
from perfagent.store.chroma_store import ChunkStore, open_client
from perfagent.store.embeddings import (
    EmbeddingModelRef,
    SentenceEmbeddings,
    resolve_embedding_model,
)

if TYPE_CHECKING:  # later layers are imported lazily: a command loads only what it uses
    from langchain_core.language_models import BaseChatModel

    from perfagent.agent.graph import PerfAgent
    from perfagent.ingest.pipeline import Ingestor
    from perfagent.retrieval.search import SearchService
    from perfagent.tools.drafting import DraftingService
    from perfagent.tools.judge import EvidenceJudge
    from perfagent.tools.rubric import Rubric
    from perfagent.tools.scoring import ScoringService


class Container:
    def __init__(
        self,
        settings: Settings,
        *,
        writable: bool = False,
        purpose: str = "",
        embeddings: SentenceEmbeddings | None = None,
    ) -> None:
        self.settings = settings
        self.writable = writable
        self.purpose = purpose or ("ingest" if writable else "read")
        if embeddings is not None:  # share one loaded model (tests, the server's workers)
            self.__dict__["embeddings"] = embeddings

    @cached_property
    def embedding_model(self) -> EmbeddingModelRef:
        return resolve_embedding_model(self.settings.embedding.model, self.settings.models_dir)

    @cached_property
    def embeddings(self) -> SentenceEmbeddings:
        return SentenceEmbeddings(
            model_path=self.embedding_model.path,
            batch_size=self.settings.embedding.batch_size,
            dtype=self.settings.embedding.dtype,
        )

    @cached_property
    def store(self) -> ChunkStore:
        client = open_client(
            self.settings.chroma.url,
            self.settings.chroma_dir,
            writable=self.writable,
            purpose=self.purpose,
        )
        # One collection per embedding model: vectors of different models never mix.
        name = f"{self.settings.chroma.collection_prefix}-{self.embedding_model.key}"
        return ChunkStore(client, name)

    @cached_property
    def org(self) -> OrgChart:
        path = self.settings.org_file
        if not path.is_file():
            raise BadInputError(
                f"no org file in {self.settings.home}; run: perfagent ingest PATH --org org.csv"
            )
        return OrgChart.load(path)

    def install_org(self, source: Path) -> OrgChart:
        """Validate an org file and make it the home's org (atomic replace)."""
        org = OrgChart.load(source)
        target = self.settings.org_file
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8-sig")
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            tmp = target.with_suffix(".csv.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
        self.__dict__["org"] = org
        return org

    def reload_org(self) -> None:
        """Forget everything built on the org chart (after an org file upload); the store, the
        models and the rubric stay loaded."""
        for name in ("org", "search_service", "scoring_service", "drafting_service", "agent"):
            self.__dict__.pop(name, None)

    @cached_property
    def search_service(self) -> SearchService:
        from perfagent.retrieval.search import SearchService

        return SearchService(
            self.store, self.embeddings, self.org, default_k=self.settings.retrieval.k
        )

    @cached_property
    def judge_embeddings(self) -> SentenceEmbeddings:
        """The judge's head is trained on MiniLM vectors: reuse the store's model when it is
        MiniLM, load MiniLM beside it otherwise."""
        if self.embedding_model.key == "minilm":
            return self.embeddings
        ref = resolve_embedding_model("minilm", self.settings.models_dir)
        return SentenceEmbeddings(
            model_path=ref.path,
            batch_size=self.settings.embedding.batch_size,
            dtype=self.settings.embedding.dtype,
        )

    @cached_property
    def rubric(self) -> Rubric:
        from perfagent.tools.rubric import load_rubric

        path = self.settings.scoring.rubric
        return load_rubric(Path(path).expanduser() if path else None)

    @cached_property
    def judge(self) -> EvidenceJudge:
        from perfagent.tools.judge import DEFAULT_MODEL_DIR, EvidenceJudge, JudgeModel

        path = self.settings.scoring.judge_model
        base = resolve_embedding_model("minilm", self.settings.models_dir)
        model = JudgeModel(
            base.path,
            Path(path).expanduser() if path else DEFAULT_MODEL_DIR,
            dtype=self.settings.embedding.dtype,
        )
        return EvidenceJudge(model, self.rubric, self.judge_embeddings)

    @cached_property
    def scoring_service(self) -> ScoringService:
        from perfagent.tools.scoring import ScoringService

        return ScoringService(
            self.store,
            self.org,
            self.judge,
            self.rubric,
            default_period=self.search_service.default_period,
        )

    @cached_property
    def drafting_service(self) -> DraftingService:
        from perfagent.tools.drafting import DraftingService
        from perfagent.tools.verifier import CitationVerifier

        return DraftingService(self.scoring_service, CitationVerifier(self.judge_embeddings))

    @cached_property
    def chat_model(self) -> BaseChatModel:
        """The agent's model: the local one, or an OpenAI-compatible server when configured."""
        from perfagent.agent.model_factory import build_chat_model

        return build_chat_model(self.settings.agent, self.settings.models_dir)

    @cached_property
    def agent(self) -> PerfAgent:
        from perfagent.agent.graph import PerfAgent
        from perfagent.tools.agent_tools import ToolServices

        return PerfAgent(
            self.chat_model,
            ToolServices.from_container(self),
            max_tool_calls=self.settings.agent.max_tool_calls,
        )

    def ingestor(self) -> Ingestor:
        from perfagent.ingest.pipeline import Ingestor

        return Ingestor(
            self.store,
            self.embeddings,
            self.org,
            max_chunk_chars=self.settings.ingest.max_chunk_chars,
            max_file_bytes=self.settings.ingest.max_file_bytes,
            batch_chunks=self.settings.ingest.batch_chunks,
        )

"""Base model vs adapter on held-out data (`perfagent eval routing`), and the model card.

The model writes on its own here: the agent's prompt (system message with the tools, then the
turn's facts and question, `describe_turn`), free greedy decoding, no constrained decoder and no
narrowed schemas. So the figures say what the weights have learnt, not what the agent's guard
rails add (the routing benchmark measures the whole agent).

Sets, none of them trained on:

- `questions.jsonl` test split and `fresh.jsonl` (the agent issue's routing set, demo org);
- a sample of the builder's `eval` split: synthetic organisations of people and question
  templates that training never saw;
- phrasing: one evidence quote in, one cited sentence out, checked by the citation verifier
  (`tools/verifier.py`) for claims the quote does not support.

Per set: tool accuracy and argument exact match (over tool cases: the first call's tool, then
every expected argument, names resolved as the tool would), refusal accuracy (no call at all for
a person out of reach), clarification accuracy (no call; every candidate named), JSON validity
(each written `<tool_call>` parses as {"name", "arguments"}) and schema validity (the arguments
validate against the tool's schema).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from perfagent.agent.local_model import describe_model_dir
from perfagent.agent.routing_set import (
    ExpectedCall,
    RoutingCase,
    compare_call,
    expected_call,
    load_routing_set,
)
from perfagent.finetune.dataset import BuildConfig, Example, build_examples, case_prompt, demo_org
from perfagent.org import OrgChart
from perfagent.retrieval.access import AccessPolicy
from perfagent.tools.agent_tools import tool_inputs, tool_specs
from perfagent.tools.citations import Citation

CARD_NAME = "MODEL_CARD.md"
EVAL_NAME = "eval.json"
MAX_REPLY_TOKENS = 80
_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_REFUSAL_WORDS = re.compile(r"\b(can't|cannot|can not|not able|unable|won't|not allowed)\b", re.I)


@dataclass
class ParsedReply:
    """A reply as text: the first call it writes (if any) and whether that call is valid JSON."""

    text: str
    attempted: bool
    name: str | None = None
    args: dict[str, Any] | None = None

    @property
    def json_valid(self) -> bool:
        return self.name is not None and self.args is not None


def parse_reply(text: str) -> ParsedReply:
    match = _CALL.search(text)
    if match is None:
        return ParsedReply(text, attempted=False)
    try:
        payload = json.loads(match.group(1).strip())
    except json.JSONDecodeError:
        return ParsedReply(text, attempted=True)
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("name"), str)
        or not isinstance(payload.get("arguments"), dict)
    ):
        return ParsedReply(text, attempted=True)
    return ParsedReply(text, True, payload["name"], payload["arguments"])


def schema_valid(name: str | None, args: dict[str, Any] | None) -> bool:
    from pydantic import ValidationError

    model = tool_inputs().get(name or "")
    if model is None or args is None:
        return False
    try:
        model.model_validate(args)
    except ValidationError:
        return False
    return True


@dataclass
class CaseResult:
    case: str
    kind: str  # tool | refuse | clarify | phrase
    ok: bool
    reply: str
    wrong: list[str] = field(default_factory=list)
    tool_ok: bool = False
    attempted: bool = False
    json_valid: bool = False
    schema_valid: bool = False
    seconds: float = 0.0


def judge_reply(
    reply: ParsedReply,
    kind: str,
    *,
    call: ExpectedCall | None = None,
    candidates: Sequence[tuple[str, str]] = (),
    org: OrgChart | None = None,
    viewer: Any = None,
) -> CaseResult:
    """One reply against its expectation. With `org` and `viewer` a written name is resolved
    as the tool would; without them the call must carry the expected id."""
    result = CaseResult(
        case="",
        kind=kind,
        ok=False,
        reply=reply.text[:300],
        attempted=reply.attempted,
        json_valid=reply.json_valid,
        schema_valid=reply.json_valid and schema_valid(reply.name, reply.args),
    )
    if kind == "tool" and call is not None:
        if not reply.json_valid:
            result.wrong = ["tool"]
            return result
        wrong, _ = compare_call(
            org, viewer, reply.name, reply.args or {}, call, resolve=org is not None
        )
        result.wrong = wrong
        result.tool_ok = reply.name == call.tool
        result.ok = not wrong
    elif kind == "refuse":
        result.ok = not reply.attempted and bool(_REFUSAL_WORDS.search(reply.text))
        result.wrong = [] if result.ok else ["refusal"]
    elif kind == "clarify":
        text = reply.text.casefold()
        named = all(i.casefold() in text or n.casefold() in text for i, n in candidates)
        result.ok = not reply.attempted and named
        result.wrong = [] if result.ok else ["clarify"]
    return result


# --- running a model over the sets ---------------------------------------------------------------


def _route_messages(prompt: str) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    from perfagent.agent.graph import system_prompt

    return [SystemMessage(system_prompt()), HumanMessage(prompt)]


def judge_routing_reply(text: str, case: RoutingCase, org: OrgChart) -> CaseResult:
    """A model's reply to a routing case against the case's expectation, names resolved as the
    tool would for the case's viewer."""
    exp = case.expect
    result = judge_reply(
        parse_reply(text),
        exp.kind,
        call=exp.call,
        candidates=[(c, org.get(c).name) for c in exp.candidates],
        org=org,
        viewer=AccessPolicy(org).viewer(case.viewer),
    )
    result.case = case.id
    return result


def run_routing_case(model: Any, case: RoutingCase, org: OrgChart) -> CaseResult:
    prompt = case_prompt(case, org)
    started = time.perf_counter()
    text = model.complete(_route_messages(prompt), tool_specs())
    seconds = time.perf_counter() - started
    result = judge_routing_reply(text, case, org)
    result.seconds = seconds
    return result


def run_example(model: Any, example: Example) -> CaseResult:
    from langchain_core.messages import HumanMessage, SystemMessage

    from perfagent.finetune.train import phrase_system_prompt

    started = time.perf_counter()
    if example.task == "phrase":
        messages = [SystemMessage(phrase_system_prompt()), HumanMessage(example.prompt)]
        text = model.complete(messages, [])
        result = judge_phrase(text, example)
    else:
        text = model.complete(_route_messages(example.prompt), tool_specs())
        exp = example.expect
        kind = exp.get("kind", "tool")
        candidates = [(c, c) for c in exp.get("candidates", [])]
        result = judge_reply(
            parse_reply(text),
            kind,
            call=expected_call(exp) if kind == "tool" else None,
            candidates=candidates,
        )
    result.case, result.seconds = example.id, time.perf_counter() - started
    return result


def judge_phrase(text: str, example: Example) -> CaseResult:
    """The first line of the reply, checked against the one quote it may cite."""
    from perfagent.tools.verifier import CitationVerifier

    sentence = text.strip().splitlines()[0].strip() if text.strip() else ""
    quote = Citation(
        1,
        "evidence",
        "evidence#0",
        example.expect["quote"],
        example.expect["date"],
        example.expect["doc_type"],
    )
    verdict = CitationVerifier().check_sentence(sentence, {1: quote})
    return CaseResult(
        case=example.id,
        kind="phrase",
        ok=bool(sentence) and verdict.supported,
        reply=sentence[:300],
        wrong=list(verdict.reasons) if sentence else ["empty"],
    )


def summarise(results: Sequence[CaseResult]) -> dict[str, Any]:
    """The set's figures: counts and shares."""

    def share(hits: int, total: int) -> dict[str, Any]:
        return {"hits": hits, "total": total, "rate": round(hits / total, 4) if total else None}

    tool = [r for r in results if r.kind == "tool"]
    refuse = [r for r in results if r.kind == "refuse"]
    clarify = [r for r in results if r.kind == "clarify"]
    phrase = [r for r in results if r.kind == "phrase"]
    written = [r for r in results if r.attempted]
    summary: dict[str, Any] = {
        "cases": len(results),
        "tool_accuracy": share(sum(r.tool_ok for r in tool), len(tool)),
        "args_exact": share(sum(r.ok for r in tool), len(tool)),
        "refusal_accuracy": share(sum(r.ok for r in refuse), len(refuse)),
        "clarify_accuracy": share(sum(r.ok for r in clarify), len(clarify)),
        "json_valid": share(sum(r.json_valid for r in written), len(written)),
        "schema_valid": share(sum(r.schema_valid for r in written), len(written)),
        "all_correct": share(sum(r.ok for r in results), len(results)),
    }
    if phrase:
        unsupported = sum(not r.ok for r in phrase)
        summary["phrase_unsupported"] = share(unsupported, len(phrase))
    timed = [r.seconds for r in results if r.seconds]
    summary["seconds_median"] = round(statistics.median(timed), 3) if timed else None
    return summary


@dataclass
class ModelEvaluation:
    label: str
    adapter: str
    sets: dict[str, dict[str, Any]]
    cases: dict[str, list[dict[str, Any]]]


@dataclass
class RoutingEvaluation:
    base_model: str
    adapter: str
    date: str
    seconds: float
    sample: dict[str, int]
    models: list[ModelEvaluation]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoutingEvaluation:
        """The evaluation `to_json` wrote (eval.json beside an adapter)."""
        fields = {k: v for k, v in data.items() if k != "models"}
        return cls(**fields, models=[ModelEvaluation(**m) for m in data["models"]])


def held_out_sets(limit: int | None = None) -> dict[str, list[RoutingCase]]:
    routing = resources.files("perfagent.data") / "routing"
    sets = {
        "questions.jsonl (test)": load_routing_set(split="test"),
        "fresh.jsonl": load_routing_set(routing / "fresh.jsonl"),
    }
    return {name: cases[:limit] if limit else cases for name, cases in sets.items()}


def synthetic_sample(route: int, phrase: int, seed: int = 0) -> list[Example]:
    """An even-spaced sample of the builder's eval split (people and templates never trained)."""
    examples = [e for e in build_examples(BuildConfig(seed=seed)) if e.split == "eval"]
    routes = [e for e in examples if e.task == "route"]
    phrases = [e for e in examples if e.task == "phrase"]

    def spaced(items: list[Example], n: int) -> list[Example]:
        if n <= 0 or not items:
            return []
        step = max(1, len(items) // n)
        return items[::step][:n]

    return spaced(routes, route) + spaced(phrases, phrase)


def evaluate_routing(
    base_model: str,
    adapter: str,
    *,
    synthetic: int = 100,
    phrase: int = 40,
    limit: int | None = None,
    threads: int = 2,
    progress: Callable[[str], None] | None = None,
) -> RoutingEvaluation:
    """The base model (no adapter) and the base model with `adapter`, over the same cases."""
    from perfagent.agent.chat_model import LocalChatModel

    started = time.perf_counter()
    org = demo_org()
    sets = held_out_sets(limit)
    examples = synthetic_sample(synthetic, phrase)
    models: list[ModelEvaluation] = []
    for label, path in (("base", ""), ("adapter", adapter)):
        model = LocalChatModel(
            model=base_model, adapter=path, max_tokens=MAX_REPLY_TOKENS, threads=threads
        )
        per_set: dict[str, dict[str, Any]] = {}
        per_case: dict[str, list[dict[str, Any]]] = {}
        for name, cases in sets.items():
            results = []
            for i, case in enumerate(cases, 1):
                results.append(run_routing_case(model, case, org))
                if progress:
                    progress(f"[{label} {name} {i}/{len(cases)}] {case.id} {_mark(results[-1])}")
            per_set[name], per_case[name] = summarise(results), [asdict(r) for r in results]
        by_task: dict[str, list[Example]] = {
            "synthetic eval split": [e for e in examples if e.task == "route"],
            "phrasing": [e for e in examples if e.task == "phrase"],
        }
        for name, items in by_task.items():
            if not items:
                continue
            results = []
            for i, example in enumerate(items, 1):
                results.append(run_example(model, example))
                if progress:
                    progress(f"[{label} {name} {i}/{len(items)}] {example.id} {_mark(results[-1])}")
            per_set[name], per_case[name] = summarise(results), [asdict(r) for r in results]
        models.append(ModelEvaluation(label, path, per_set, per_case))
    return RoutingEvaluation(
        base_model=base_model,
        adapter=adapter,
        date=date.today().isoformat(),
        seconds=round(time.perf_counter() - started, 1),
        sample={"synthetic": synthetic, "phrase": phrase, "limit": limit or 0},
        models=models,
    )


def _mark(result: CaseResult) -> str:
    return "ok" if result.ok else "WRONG " + ",".join(result.wrong)[:60]


# --- the card ------------------------------------------------------------------------------------

_ROWS = (
    ("tool accuracy", "tool_accuracy"),
    ("argument exact match", "args_exact"),
    ("refusal accuracy", "refusal_accuracy"),
    ("clarification accuracy", "clarify_accuracy"),
    ("JSON valid (no constrained decoding)", "json_valid"),
    ("schema valid (no constrained decoding)", "schema_valid"),
    ("unsupported phrased sentences", "phrase_unsupported"),
)


def _cell(value: dict[str, Any] | None) -> str:
    if not value or not value.get("total"):
        return "–"
    return f"{value['hits']}/{value['total']} ({value['rate']:.1%})"


def results_table(evaluation: RoutingEvaluation) -> str:
    """Markdown: one row per metric and set, base vs adapter."""
    base, tuned = evaluation.models[0], evaluation.models[1]
    lines = ["| set | metric | base model | with the adapter |", "| --- | --- | --- | --- |"]
    for name in base.sets:
        for label, key in _ROWS:
            b, a = base.sets[name].get(key), tuned.sets[name].get(key)
            if (b and b.get("total")) or (a and a.get("total")):
                lines.append(f"| {name} | {label} | {_cell(b)} | {_cell(a)} |")
    return "\n".join(lines)


def _resumes(training: dict[str, Any]) -> str:
    steps = training.get("resumed_at_steps") or []
    if not steps:
        return ""
    return " (interrupted and resumed after step " + ", ".join(str(s) for s in steps) + ")"


def write_card(adapter_dir: Path, evaluation: RoutingEvaluation) -> Path:
    """`MODEL_CARD.md` and `eval.json` next to the adapter, from this evaluation's figures."""
    training_file = adapter_dir / "training.json"
    training = json.loads(training_file.read_text("utf-8")) if training_file.is_file() else {}
    config = training.get("config", {})
    (adapter_dir / EVAL_NAME).write_text(
        json.dumps(evaluation.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    trained = (
        f"{training.get('examples', '?')} examples, {training.get('steps', '?')} steps, "
        f"{float(training.get('seconds', 0)) / 60:.1f} min on CPU{_resumes(training)}, final loss "
        f"{training.get('final_loss', '?')}"
        if training
        else "unknown (no training.json beside the adapter)"
    )
    card = f"""# perfagent chat adapter: model card

A LoRA adapter for SmolLM2-135M-Instruct that teaches it perfagent's jobs: choosing a tool and
its arguments from a question and the facts above it (today, the asker, the people named and
what the asker may see of them, the tools and search words the question's words point to),
refusing when the person is out of reach, asking which person when a name fits several, and
phrasing one cited feedback sentence from one quote.

- Base model: {describe_model_dir(evaluation.base_model)}
- LoRA: r={config.get("r", "?")}, alpha={config.get("alpha", "?")}, dropout={config.get("dropout", "?")}, on {", ".join(config.get("target_modules", [])) or "?"}; lr {config.get("learning_rate", "?")}, {config.get("scheduler", "?")} schedule, warm-up {config.get("warmup_ratio", "?")}, batch {config.get("batch_size", "?")}, seed {config.get("seed", "?")}
- Training: {trained}
- Data: `perfagent finetune build` (synthetic organisations and question templates, the
  routing set's train split, first-person evidence sentences); evaluation people, phrasings and
  the routing set's held-out cases were never trained on.
- Evaluated: {evaluation.date}, `perfagent eval routing` ({evaluation.seconds / 60:.1f} min);
  free greedy decoding, no constrained decoder (the agent adds one, and narrowed schemas, on top).

## Results (held out)

{results_table(evaluation)}

Every figure above is read from `{EVAL_NAME}` beside this card, written by the same run.

## Use and limits

The agent loads this adapter by default (`agent.adapter: bundled`); `agent.adapter: none` runs
the base model. Tool results, permissions and citations do not depend on it: the tools check
every name against the signed-in viewer and answers are composed from tool output. Scores and
drafts are advisory.
"""
    path = adapter_dir / CARD_NAME
    path.write_text(card, encoding="utf-8")
    return path

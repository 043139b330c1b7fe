"""Routing benchmark: does an agent turn call the right tool with the right arguments, refuse, or
ask which person was meant? And how well does the base model route on its own?

    .venv/bin/python bench/routing_bench.py                      # questions.jsonl [test] + fresh.jsonl
    .venv/bin/python bench/routing_bench.py --split train        # the train split instead
    .venv/bin/python bench/routing_bench.py --set my.jsonl --limit 10 --json-out routing.json
    .venv/bin/python bench/routing_bench.py --home /tmp/pa-home  # reuse an ingested home
    .venv/bin/python bench/routing_bench.py --adapter none       # the base model, no LoRA adapter

Two layers are measured on each set of routing cases (`data/routing/README.md`):

(a) agent: the full turn, `PerfAgent.stream(viewer, question, today=case.today)` with the case's
    signed-in viewer (`as`): rule-based hints narrow the tool schemas (`agent/routing.py`), the
    model picks the tool and fills what stays open, the tool runs, the answer is composed.
    - tool accuracy: the first tool call's name is the expected tool (over tool cases);
    - argument exact match: the tool and every expected argument are right (over tool cases):
      `employee` resolved as the tool would (`resolve_person` with the viewer, `resolve_colleague`
      for a peer draft), `period` compared by parsed start and end (`parse_period`; an absent
      expectation means the call leaves it out), `dimensions` as a set (absent: left out),
      `kind` exactly, `doc_types` as a set only where the case expects some (absent: not checked;
      the calls that pass some anyway are counted apart), `query_terms` each a case-insensitive
      substring of `query` with hyphens read as spaces;
    - refusal accuracy: the answer refused and no call returned the person's documents (a
      successful retrieval, score or non-peer draft about them: a "leak", counted apart);
    - clarify accuracy: the turn asked which (`AgentAnswer.clarify`), the answer lists every
      expected candidate id, and no call succeeded (it did not pick one);
    - schema validity: every tool call's args validate against the tool's `args_schema`;
    - latency of the turn, warm: p50/p95 of `seconds`, `first_event_seconds`,
      `first_words_seconds`. Before the first set, one question per tool (not counted) loads
      every model a turn can touch (chat model, embeddings, judge, drafting), so no case pays a load.
(b) model only: the base model's own routing without the hints: `bind_tools(<the three tools'
    unnarrowed specs>, tool_choice="any")` invoked with the agent's system prompt and the question
    (no date: periods are the hints' job). Tool accuracy, argument exact match (same rules; the
    employee the model wrote is resolved with the viewer, an invalid period is wrong) and schema
    validity, over tool cases. This is what fine-tuning the model is meant to improve.

Figures go to stdout (progress to stderr); `--json-out` also writes them with every case's
record. Without `--home` everything runs in a temporary home (demo ingested, removed on exit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "data" / "demo"
ROUTING = REPO / "data" / "routing"
DEFAULT_SETS = (ROUTING / "questions.jsonl", ROUTING / "fresh.jsonl")

# Loads what each tool needs before any case is timed: (viewer, question), one per tool.
WARMUP: tuple[tuple[str, str], ...] = (
    ("E003", "How is Sofia doing on delivery this quarter?"),
    ("E003", "What did Mike write about on-call in his weekly reports?"),
    ("E003", "Draft a manager review for Aisha Bello for Q3."),
)
WARMUP_TODAY = date(2026, 10, 5)


def say(line: str = "") -> None:
    print(line, flush=True)


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def share(hits: int, total: int) -> str:
    return f"{hits}/{total} {100.0 * hits / total:5.1f}%" if total else "n/a (no cases)"


def rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def loadavg() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- comparing a call with the expectation --------------------------------------------------------


def schema_valid(tools: dict[str, Any], name: str, args: dict[str, Any]) -> bool:
    from pydantic import ValidationError

    tool = tools.get(name)
    if tool is None:
        return False
    try:
        tool.args_schema.model_validate(args)
    except ValidationError:
        return False
    return True


def short_call(name: str | None, args: dict[str, Any] | None) -> str:
    if name is None:
        return "no tool call"
    parts = []
    for key, value in (args or {}).items():
        if isinstance(value, list):
            value = "[" + ",".join(map(str, value)) + "]"
        text = str(value)
        parts.append(f"{key}={text if len(text) <= 40 else text[:37] + '...'}")
    return f"{name}({', '.join(parts)})"


def expected_text(case: Any) -> str:
    exp = case.expect
    if exp.kind == "tool":
        return short_call(exp.call.tool, exp.call.as_args())
    if exp.kind == "refuse":
        return f"refuse (about {exp.about})" if exp.about else "refuse"
    return f"clarify among {','.join(exp.candidates)}"


def bucket(case: Any) -> str:
    return case.expect.call.tool if case.expect.kind == "tool" else case.expect.kind


# -- one set --------------------------------------------------------------------------------------


@dataclass
class AgentResult:
    case_id: str
    bucket: str
    tags: tuple[str, ...]
    ok: bool
    wrong: list[str] = field(default_factory=list)  # what was wrong ("tool", "employee", ...)
    tool_ok: bool | None = None  # tool cases only
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    valid_calls: int = 0
    refused: bool = False
    clarify: bool = False
    leak: bool = False
    extra_doc_types: bool = False
    seconds: float | None = None
    first_event_seconds: float | None = None
    first_words_seconds: float | None = None
    error: str = ""
    answer_head: str = ""


def _successful(done: list[Any]) -> list[Any]:
    return [d for d in done if "error" not in d.artifact]


def run_agent_case(agent: Any, policy: Any, org: Any, tools: dict[str, Any], case: Any) -> Any:
    from perfagent.agent.graph import AgentAnswer, ToolDone
    from perfagent.agent.routing_set import compare_call

    viewer = policy.viewer(case.viewer)
    result = AgentResult(case.id, bucket(case), case.tags, ok=False)
    final: AgentAnswer | None = None
    done: list[ToolDone] = []
    try:
        for event in agent.stream(viewer, case.question, today=case.today):
            if isinstance(event, ToolDone):
                done.append(event)
            elif isinstance(event, AgentAnswer):
                final = event
    except Exception as exc:  # a crash is a finding: record it and go on
        result.error = f"{type(exc).__name__}: {exc}"
        result.wrong = ["crash"]
        progress(traceback.format_exc())
        return result
    assert final is not None
    result.tool_calls = final.tool_calls
    result.refused, result.clarify = final.refused, final.clarify
    result.seconds = final.seconds
    result.first_event_seconds = final.first_event_seconds
    result.first_words_seconds = final.first_words_seconds
    result.answer_head = " ".join(final.answer.split())[:160]
    result.valid_calls = sum(schema_valid(tools, c["name"], c["args"]) for c in final.tool_calls)
    exp = case.expect
    first = final.tool_calls[0] if final.tool_calls else None
    if exp.kind == "tool":
        name = first["name"] if first else None
        wrong, notes = compare_call(org, viewer, name, first["args"] if first else {}, exp.call)
        result.tool_ok = name == exp.call.tool
        result.wrong = wrong
        result.extra_doc_types = bool(notes.get("extra_doc_types"))
    elif exp.kind == "refuse":
        for d in _successful(done):
            about = d.artifact.get("employee_id")
            own_documents = d.name != "draft_feedback" or d.artifact.get("kind") != "peer"
            if own_documents and (
                about == exp.about
                or (exp.about is None and about and not viewer.may_see_subject(about))
            ):
                result.leak = True
        if not final.refused:
            result.wrong.append("not refused")
        if result.leak:
            result.wrong.append("leak")
    else:
        if not final.clarify:
            result.wrong.append("no clarify")
        missing = [c for c in exp.candidates if c not in final.answer]
        if missing:
            result.wrong.append(f"candidates {','.join(missing)} not listed")
        if _successful(done):
            result.wrong.append("picked one")
    result.ok = not result.wrong
    return result


@dataclass
class ModelResult:
    case_id: str
    ok: bool
    tool_ok: bool
    wrong: list[str]
    call: dict[str, Any] | None
    valid: bool
    resolved: str | None
    seconds: float
    error: str = ""


def run_model_case(
    bound: Any, system_prompt: Any, policy: Any, org: Any, tools: dict[str, Any], case: Any
) -> ModelResult:
    from langchain_core.messages import HumanMessage, SystemMessage

    from perfagent.agent.routing_set import compare_call

    viewer = policy.viewer(case.viewer)
    messages = [
        SystemMessage(system_prompt()),
        HumanMessage(" ".join(case.question.split())),
    ]
    started = time.perf_counter()
    try:
        message = bound.invoke(messages)
    except Exception as exc:
        progress(traceback.format_exc())
        return ModelResult(
            case.id, False, False, ["crash"], None, False, None, 0.0, f"{type(exc).__name__}: {exc}"
        )
    seconds = time.perf_counter() - started
    calls = list(getattr(message, "tool_calls", None) or [])
    if not calls:
        return ModelResult(case.id, False, False, ["tool"], None, False, None, seconds)
    call = {"name": calls[0]["name"], "args": dict(calls[0]["args"])}
    wrong, notes = compare_call(org, viewer, call["name"], call["args"], case.expect.call)
    valid = all(schema_valid(tools, c["name"], dict(c["args"])) for c in calls)
    return ModelResult(
        case.id,
        ok=not wrong,
        tool_ok=call["name"] == case.expect.call.tool,
        wrong=wrong,
        call=call,
        valid=valid,
        resolved=notes.get("resolved"),
        seconds=seconds,
    )


def agent_summary(cases: list[Any], results: list[AgentResult]) -> dict[str, Any]:
    tool_rs = [r for r in results if r.bucket not in ("refuse", "clarify")]
    refuse_rs = [r for r in results if r.bucket == "refuse"]
    clarify_rs = [r for r in results if r.bucket == "clarify"]
    calls = sum(len(r.tool_calls) for r in results)
    valid = sum(r.valid_calls for r in results)
    timed = [r for r in results if r.seconds is not None]

    def lat(attr: str) -> dict[str, Any]:
        values = [getattr(r, attr) for r in timed if getattr(r, attr) is not None]
        p50, p95 = pct(values, 50), pct(values, 95)
        return {
            "n": len(values),
            "p50": None if p50 is None else round(p50, 3),
            "p95": None if p95 is None else round(p95, 3),
        }

    by_first_tool: dict[str, list[float]] = defaultdict(list)
    for r in timed:
        key = r.tool_calls[0]["name"] if r.tool_calls else "no call"
        by_first_tool[key].append(float(r.seconds or 0.0))
    tags: dict[str, list[int]] = {}
    for r in results:
        for tag in r.tags:
            tags.setdefault(tag, [0, 0])
            tags[tag][0] += 1
            tags[tag][1] += not r.ok
    buckets: dict[str, list[int]] = {}
    for r in results:
        buckets.setdefault(r.bucket, [0, 0])
        buckets[r.bucket][0] += 1
        buckets[r.bucket][1] += r.ok
    fields = Counter(w for r in tool_rs for w in r.wrong)
    return {
        "cases": len(results),
        "tool_cases": len(tool_rs),
        "tool_correct": sum(bool(r.tool_ok) for r in tool_rs),
        "args_exact": sum(r.ok for r in tool_rs),
        "refuse_cases": len(refuse_rs),
        "refuse_correct": sum(r.ok for r in refuse_rs),
        "leaks": sum(r.leak for r in refuse_rs),
        "clarify_cases": len(clarify_rs),
        "clarify_correct": sum(r.ok for r in clarify_rs),
        "all_correct": sum(r.ok for r in results),
        "calls": calls,
        "valid_calls": valid,
        "crashes": sum(bool(r.error) for r in results),
        "extra_doc_types": sum(r.extra_doc_types for r in tool_rs),
        "wrong_fields": dict(fields.most_common()),
        "tool_accuracy": rate(sum(bool(r.tool_ok) for r in tool_rs), len(tool_rs)),
        "args_exact_match": rate(sum(r.ok for r in tool_rs), len(tool_rs)),
        "refusal_accuracy": rate(sum(r.ok for r in refuse_rs), len(refuse_rs)),
        "clarify_accuracy": rate(sum(r.ok for r in clarify_rs), len(clarify_rs)),
        "schema_validity": rate(valid, calls),
        "latency_s": {
            "seconds": lat("seconds"),
            "first_event_seconds": lat("first_event_seconds"),
            "first_words_seconds": lat("first_words_seconds"),
        },
        "seconds_p50_by_first_tool": {
            k: {"n": len(v), "p50": round(float(np.median(v)), 3)}
            for k, v in sorted(by_first_tool.items())
        },
        "by_bucket": {k: {"cases": n, "correct": ok} for k, (n, ok) in sorted(buckets.items())},
        "errors_by_tag": {
            k: {"cases": n, "wrong": bad}
            for k, (n, bad) in sorted(tags.items(), key=lambda kv: (-kv[1][1], kv[0]))
        },
    }


def model_summary(results: list[ModelResult]) -> dict[str, Any]:
    n = len(results)
    fields = Counter(w for r in results for w in r.wrong)
    called = Counter(r.call["name"] if r.call else "no call" for r in results)
    seconds = [r.seconds for r in results if not r.error]
    return {
        "tool_cases": n,
        "tool_correct": sum(r.tool_ok for r in results),
        "args_exact": sum(r.ok for r in results),
        "valid_calls": sum(r.valid for r in results),
        "calls": sum(r.call is not None for r in results),
        "crashes": sum(bool(r.error) for r in results),
        "tool_accuracy": rate(sum(r.tool_ok for r in results), n),
        "args_exact_match": rate(sum(r.ok for r in results), n),
        "schema_validity": rate(
            sum(r.valid for r in results), sum(r.call is not None for r in results)
        ),
        "wrong_fields": dict(fields.most_common()),
        "tools_called": dict(called.most_common()),
        "seconds": {
            "p50": None if not seconds else round(float(np.median(seconds)), 3),
            "p95": None if not seconds else round(float(pct(seconds, 95) or 0.0), 3),
        },
    }


def print_agent(summary: dict[str, Any], cases: list[Any], results: list[AgentResult]) -> None:
    s = summary
    say("(a) agent (hints + model, full turn)")
    say(f"  tool accuracy          {share(s['tool_correct'], s['tool_cases'])}")
    say(f"  argument exact match   {share(s['args_exact'], s['tool_cases'])}")
    say(
        f"  refusal accuracy       {share(s['refuse_correct'], s['refuse_cases'])}   leaks: {s['leaks']}"
    )
    say(f"  clarify accuracy       {share(s['clarify_correct'], s['clarify_cases'])}")
    say(f"  schema validity        {share(s['valid_calls'], s['calls'])} of tool calls")
    say(f"  all cases correct      {share(s['all_correct'], s['cases'])}   crashes: {s['crashes']}")
    if s["wrong_fields"]:
        fields = ", ".join(f"{k} {v}" for k, v in s["wrong_fields"].items())
        say(f"  wrong in tool cases    {fields}")
    if s["extra_doc_types"]:
        say(f"  (doc_types passed where none expected, not counted wrong: {s['extra_doc_types']})")
    buckets = ", ".join(f"{k} {v['correct']}/{v['cases']}" for k, v in s["by_bucket"].items())
    say(f"  correct by expectation {buckets}")
    lat = s["latency_s"]
    say(f"  latency, warm (s)      {'p50':>7} {'p95':>7}   (n={lat['seconds']['n']})")
    for label, key in (
        ("ask", "seconds"),
        ("first event", "first_event_seconds"),
        ("first words", "first_words_seconds"),
    ):
        p50, p95 = lat[key]["p50"], lat[key]["p95"]
        say(
            f"    {label:<20} {'n/a' if p50 is None else f'{p50:7.2f}'} "
            f"{'n/a' if p95 is None else f'{p95:7.2f}'}"
        )
    tools = ", ".join(
        f"{k} {v['p50']:.2f} s (n={v['n']})" for k, v in s["seconds_p50_by_first_tool"].items()
    )
    say(f"    ask p50 by first tool: {tools}")
    bad_tags = {k: v for k, v in s["errors_by_tag"].items() if v["wrong"]}
    if bad_tags:
        say("  agent errors by tag (wrong/cases):")
        items = [f"{k} {v['wrong']}/{v['cases']}" for k, v in bad_tags.items()]
        for i in range(0, len(items), 6):
            say("    " + ", ".join(items[i : i + 6]))
    clean = [k for k, v in s["errors_by_tag"].items() if not v["wrong"]]
    if clean:
        say(f"  tags with no error: {', '.join(sorted(clean))}")
    failing = [(c, r) for c, r in zip(cases, results, strict=True) if not r.ok]
    if failing:
        say(f"  failing cases ({len(failing)}):")
    for case, r in failing:
        first = r.tool_calls[0] if r.tool_calls else None
        done = r.error or short_call(
            first["name"] if first else None, first["args"] if first else None
        )
        if case.expect.kind != "tool":
            done += f"; refused={r.refused} clarify={r.clarify}"
        say(f"    {case.id} [{','.join(case.tags)}] as {case.viewer}: {case.question!r}")
        say(f"      expected {expected_text(case)}")
        say(f"      got      {done}  -> wrong: {', '.join(r.wrong)}")


def print_model(
    summary: dict[str, Any], cases: list[Any], results: list[ModelResult], show: int
) -> None:
    s = summary
    say("(b) model only (no hints: unnarrowed schemas, tool_choice=any, tool cases)")
    say(f"  tool accuracy          {share(s['tool_correct'], s['tool_cases'])}")
    say(f"  argument exact match   {share(s['args_exact'], s['tool_cases'])}")
    say(
        f"  schema validity        {share(s['valid_calls'], s['calls'])} of tool calls   crashes: {s['crashes']}"
    )
    if s["wrong_fields"]:
        say(
            f"  wrong fields           {', '.join(f'{k} {v}' for k, v in s['wrong_fields'].items())}"
        )
    say(f"  tools called           {', '.join(f'{k} {v}' for k, v in s['tools_called'].items())}")
    sec = s["seconds"]
    if sec["p50"] is not None:
        say(f"  seconds per call       p50 {sec['p50']:.2f}, p95 {sec['p95']:.2f}")
    by_id = {c.id: c for c in cases}
    shown = [r for r in results if not r.ok][:show]
    if shown:
        say(f"  first {len(shown)} misses:")
    for r in shown:
        case = by_id[r.case_id]
        got = r.error or short_call(
            r.call["name"] if r.call else None, r.call["args"] if r.call else None
        )
        say(f"    {r.case_id} expected {expected_text(case)}")
        say(f"      got {got} (employee -> {r.resolved}) -> wrong: {', '.join(r.wrong)}")


# -- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--set",
        action="append",
        type=Path,
        dest="sets",
        help="a routing-set .jsonl (repeatable; default data/routing/questions.jsonl and fresh.jsonl)",
    )
    parser.add_argument(
        "--split",
        choices=("test", "train", "all"),
        default="test",
        help="which split of each set (default test; fresh.jsonl is all test)",
    )
    parser.add_argument("--limit", type=int, help="only the first N cases of each set")
    parser.add_argument(
        "--json-out", "--json", type=Path, dest="json_out", help="write the figures"
    )
    parser.add_argument(
        "--home", type=Path, help="perfagent home to use (ingests the demo if empty)"
    )
    parser.add_argument("--no-model-only", action="store_true", help="skip (b), the model alone")
    parser.add_argument(
        "--adapter",
        help="the chat model's LoRA adapter for this run: 'none', 'bundled' or a directory "
        "(default: the agent.adapter setting); run once with each to compare base and adapter",
    )
    parser.add_argument(
        "--show-model-misses", type=int, default=10, help="model-only misses listed per set"
    )
    args = parser.parse_args()

    from perfagent.offline import configure_offline_env

    configure_offline_env()
    if args.adapter is not None:
        # Settings read the environment last, so this overrides settings.yaml for this run only.
        os.environ["PERFAGENT_CHAT_ADAPTER"] = args.adapter
    import torch
    from langchain_core.utils.function_calling import convert_to_openai_tool

    from perfagent.agent.graph import system_prompt
    from perfagent.agent.routing_set import load_routing_set
    from perfagent.container import Container
    from perfagent.settings import load_settings
    from perfagent.store.lock import DirectoryLock

    split = None if args.split == "all" else args.split
    sets = args.sets or list(DEFAULT_SETS)
    loaded: list[tuple[Path, list[Any]]] = []
    for path in sets:
        cases = load_routing_set(path, split=split)
        if args.limit is not None:
            cases = cases[: args.limit]
        loaded.append((path, cases))

    temp_home = None
    home = args.home
    if home is None:
        temp_home = Path(tempfile.mkdtemp(prefix="perfagent-routing-"))
        home = temp_home
    home.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "torch_threads": torch.get_num_threads(),
        "split": args.split,
        "limit": args.limit,
        "sets": [],
    }
    try:
        say("== Routing benchmark: the agent's turn, and the base model routing alone")
        say(
            f"machine: {os.cpu_count()} cores ({usable_cores()} usable), torch threads "
            f"{torch.get_num_threads()}, load {loadavg()}"
        )
        container = Container(load_settings(home), writable=True, purpose="bench/routing_bench.py")
        if not container.settings.org_file.is_file():
            started = time.perf_counter()
            container.install_org(DEMO / "org.csv")
            report = container.ingestor().run(DEMO, progress=False)
            say(
                f"home: {home} (demo ingested: {report.chunks_written} chunks in "
                f"{time.perf_counter() - started:.1f} s)"
            )
        else:
            say(f"home: {home} (reused, {container.store.count()} chunks)")
        agent = container.agent
        model = container.chat_model
        policy = container.search_service.policy
        org = container.org
        tools = {t.name: t for t in agent.tools}
        started = time.perf_counter()
        for viewer_id, question in WARMUP:
            agent.ask(policy.viewer(viewer_id), question, today=WARMUP_TODAY)
        warm_s = time.perf_counter() - started
        loaded_model = getattr(model, "loaded", None)
        dtype = str(loaded_model.model.dtype).removeprefix("torch.") if loaded_model else "n/a"
        model_name = getattr(model, "model_name", type(model).__name__)
        adapter = getattr(model, "adapter", "") or "none"
        say(
            f"chat model: {model_name} ({type(model).__name__}, {dtype}), adapter {adapter}; "
            f"tools: {', '.join(tools)}"
        )
        say(f"warm-up: {len(WARMUP)} questions, one per tool, {warm_s:.1f} s (not counted)")
        results.update(
            chat_model=model_name, dtype=dtype, adapter=adapter, warmup_s=round(warm_s, 2)
        )
        specs = [convert_to_openai_tool(t) for t in agent.tools]
        bound = None if args.no_model_only else model.bind_tools(specs, tool_choice="any")

        for path, cases in loaded:
            counts = Counter(c.expect.kind for c in cases)
            name = path.name if path.parent == ROUTING else str(path)
            say()
            say(
                f"== {name} [{args.split}]: {len(cases)} cases ({counts['tool']} tool, "
                f"{counts['refuse']} refuse, {counts['clarify']} clarify)"
            )
            if not cases:
                say("  no cases")
                continue
            agent_results: list[AgentResult] = []
            for i, case in enumerate(cases, 1):
                r = run_agent_case(agent, policy, org, tools, case)
                agent_results.append(r)
                progress(
                    f"[agent {name} {i}/{len(cases)}] {case.id} "
                    f"{'ok' if r.ok else 'WRONG ' + ','.join(r.wrong)} "
                    f"{(r.seconds or 0.0):.1f} s"
                )
            summary = agent_summary(cases, agent_results)
            print_agent(summary, cases, agent_results)
            entry: dict[str, Any] = {
                "set": str(path),
                "cases": len(cases),
                "agent": summary,
                "agent_cases": [vars(r) | {"tags": list(r.tags)} for r in agent_results],
            }
            if bound is not None:
                tool_cases = [c for c in cases if c.expect.kind == "tool"]
                model_results: list[ModelResult] = []
                for i, case in enumerate(tool_cases, 1):
                    m = run_model_case(bound, system_prompt, policy, org, tools, case)
                    model_results.append(m)
                    progress(
                        f"[model {name} {i}/{len(tool_cases)}] {case.id} "
                        f"{'ok' if m.ok else 'WRONG ' + ','.join(m.wrong)} {m.seconds:.1f} s"
                    )
                msum = model_summary(model_results)
                say()
                print_model(msum, cases, model_results, args.show_model_misses)
                entry["model_only"] = msum
                entry["model_only_cases"] = [vars(m) for m in model_results]
            results["sets"].append(entry)

        say()
        say("== Summary")
        header = f"{'':<24}" + "".join(f"{Path(e['set']).name:>22}" for e in results["sets"])
        say(header)
        rows = [
            ("agent tool accuracy", "agent", "tool_correct", "tool_cases"),
            ("agent args exact", "agent", "args_exact", "tool_cases"),
            ("agent refusals", "agent", "refuse_correct", "refuse_cases"),
            ("agent clarify", "agent", "clarify_correct", "clarify_cases"),
            ("agent schema valid", "agent", "valid_calls", "calls"),
            ("model tool accuracy", "model_only", "tool_correct", "tool_cases"),
            ("model args exact", "model_only", "args_exact", "tool_cases"),
            ("model schema valid", "model_only", "valid_calls", "calls"),
        ]
        for label, part, hit, total in rows:
            cells = []
            for e in results["sets"]:
                block = e.get(part)
                cells.append(share(block[hit], block[total]) if block else "-")
            say(f"{label:<24}" + "".join(f"{c:>22}" for c in cells))
        for key, label in (
            ("seconds", "agent ask p50/p95 s"),
            ("first_event_seconds", "first event p50/p95 s"),
            ("first_words_seconds", "first words p50/p95 s"),
        ):
            cells = []
            for e in results["sets"]:
                v = e["agent"]["latency_s"][key]
                cells.append("n/a" if v["p50"] is None else f"{v['p50']:.2f} / {v['p95']:.2f}")
            say(f"{label:<24}" + "".join(f"{c:>22}" for c in cells))
        say(f"load at the end: {loadavg()}")
        results["load_at_end"] = loadavg()
        if args.json_out:
            args.json_out.write_text(json.dumps(results, indent=2, default=str) + "\n")
            say(f"wrote {args.json_out}")
    finally:
        DirectoryLock.release_all()
        if temp_home is not None:
            shutil.rmtree(temp_home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

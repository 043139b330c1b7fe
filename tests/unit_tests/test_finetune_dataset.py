"""The fine-tuning data builder: splits that never leak, labels the agent's own code agrees with."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from perfagent.agent.routing_set import load_routing_set, query_covers
from perfagent.finetune.dataset import (
    CLARIFY_ANSWER,
    REFUSAL_ANSWER,
    BuildConfig,
    Example,
    build_examples,
    load_templates,
    read_examples,
    split_of,
    third_person,
    write_dataset,
)
from perfagent.periods import parse_period
from perfagent.tools.agent_tools import tool_inputs

SMALL = BuildConfig(route_train=400, route_eval=150, phrase_train=60, phrase_eval=20)


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return build_examples(SMALL)


def _split(examples: list[Example], split: str) -> list[Example]:
    return [e for e in examples if e.split == split]


def _call(answer: str) -> dict | None:
    match = re.fullmatch(r"<tool_call>(.*)</tool_call>", answer)
    return json.loads(match.group(1)) if match else None


def test_the_builder_makes_what_was_asked(examples: list[Example]) -> None:
    train, held = _split(examples, "train"), _split(examples, "eval")
    routing_train = len(load_routing_set(split="train")) * SMALL.routing_train_repeats
    assert sum(e.task == "route" for e in train) == SMALL.route_train + routing_train
    assert sum(e.task == "phrase" for e in train) == SMALL.phrase_train
    assert sum(e.task == "route" for e in held) == SMALL.route_eval
    assert sum(e.task == "phrase" for e in held) == SMALL.phrase_eval
    kinds = {(e.expect or {}).get("kind") for e in held if e.task == "route"}
    assert kinds == {"tool", "refuse", "clarify"}


def test_evaluation_people_are_never_training_people(examples: list[Example]) -> None:
    def name_parts(split: str) -> set[str]:
        return {
            part
            for e in _split(examples, split)
            if not e.id.startswith("routing-")
            for name in e.names
            for part in name.split()
        }

    train, held = name_parts("train"), name_parts("eval")
    assert train and held
    # De Vries / Van der Berg share "Van"/"De"-like particles only within one split's names
    assert not {p for p in train & held if len(p) > 3}
    demo = {
        part
        for line in (resources.files("perfagent.data") / "demo" / "org.csv")
        .read_text("utf-8")
        .splitlines()[1:]
        for part in line.split(",")[1].split()
    }
    assert not (held & demo), "evaluation names must not be demo people"


def test_evaluation_phrasings_are_never_training_templates(examples: list[Example]) -> None:
    train_sources = {e.source for e in _split(examples, "train") if e.task == "route"}
    held_sources = {e.source for e in _split(examples, "eval") if e.task == "route"}
    assert held_sources and not (train_sources & held_sources)
    by_id = {t.id: t for t in load_templates()}
    assert all(by_id[s].split == "eval" for s in held_sources)
    assert all(split_of(s) == "train" for s in train_sources if s in by_id)


def test_the_routing_sets_held_out_cases_are_never_trained_on(examples: list[Example]) -> None:
    routing = resources.files("perfagent.data") / "routing"
    held_out = load_routing_set(split="test") + load_routing_set(routing / "fresh.jsonl")
    train_text = "\n".join(e.prompt for e in _split(examples, "train"))
    leaked = [c.id for c in held_out if " ".join(c.question.split()) in train_text]
    assert leaked == []
    used = {e.source for e in examples if e.id.startswith("routing-")}
    assert used and used <= {c.id for c in load_routing_set(split="train")}


def test_phrasing_quotes_do_not_cross_splits(examples: list[Example]) -> None:
    def quotes(split: str) -> set[str]:
        return {e.expect["quote"] for e in _split(examples, split) if e.task == "phrase"}

    assert quotes("train") and quotes("eval")
    assert not quotes("train") & quotes("eval")


def test_every_label_is_what_the_facts_say(examples: list[Example]) -> None:
    """A call's arguments validate, its employee is an id the facts list, its period is the
    facts' period; refusals follow an out-of-reach line, questions back an ambiguous one."""
    inputs = tool_inputs()
    for e in (e for e in examples if e.task == "route"):
        call = _call(e.answer)
        if call is None:
            if e.answer == REFUSAL_ANSWER:
                assert "outside the asker's access" in e.prompt, e.id
            else:
                assert e.answer.startswith(CLARIFY_ANSWER.split("{")[0]), e.id
                assert "could be" in e.prompt, e.id
            continue
        args = call["arguments"]
        inputs[call["name"]].model_validate(args)
        assert f"({args['employee']})" in e.prompt, e.id
        asks = re.search(r"^Asks for: ([a-z_ ]+?)(?: \(a manager review\))?\.$", e.prompt, re.M)
        if asks:  # the tool is one the facts say the question asks for
            assert call["name"] in asks.group(1).split(" or "), e.id
        if call["name"] == "retrieve_documents" and not e.id.startswith("routing-"):
            # the search words the facts state, which hold the topic's terms
            assert f"\nSearch words: {args['query']}.\n" in e.prompt, e.id
            assert query_covers(args["query"], e.expect["args"]["query_terms"]), e.id
        period = re.search(r"^Period: (.+)\.$", e.prompt, re.MULTILINE)
        if e.id.startswith("routing-"):
            continue  # labelled from the routing set's own expectation
        assert (period.group(1) if period else None) == args.get("period"), e.id
        # the dimensions (scores, drafts) or document types (searches) are copied from the
        # facts, in their order; the facts may name ones the tool does not take
        line, key = (
            ("Document types", "doc_types")
            if call["name"] == "retrieve_documents"
            else ("Dimensions", "dimensions")
        )
        named = re.search(rf"^{line}: (.+)\.$", e.prompt, re.MULTILINE)
        stated = named.group(1).split(", ") if named else None
        assert stated == args.get(key), (e.id, key)
        other = "dimensions" if key == "doc_types" else "doc_types"
        assert other not in args, e.id
        if "period" in args:
            parse_period(args["period"])
        if call["name"] == "draft_feedback" and args["kind"] == "manager":
            assert "in the asker's team" in e.prompt, e.id
        if call["name"] == "draft_feedback" and "outside the asker's access" in e.prompt:
            assert args["kind"] == "peer" and "(a manager review)" not in e.prompt, e.id


def test_out_of_reach_people_get_peer_drafts_as_well_as_refusals(examples: list[Example]) -> None:
    """Not every out-of-reach name is a refusal: a peer feedback draft is the one thing the
    asker may still have, and the data must say so often enough to learn it."""
    outside = [e for e in examples if e.task == "route" and "outside the asker's" in e.prompt]
    refused = sum(e.answer == REFUSAL_ANSWER for e in outside)
    drafted = sum('"draft_feedback"' in e.answer for e in outside)
    assert refused and drafted >= refused / 3, (refused, drafted)
    for e in outside:
        if "Asks for: draft_feedback." in e.prompt:  # a plain draft request is never refused
            assert e.answer != REFUSAL_ANSWER, e.id
        # the out-of-reach line states the outcome, and the label is that outcome
        if "outside the asker's access (refuse: " in e.prompt:
            assert e.answer == REFUSAL_ANSWER, e.id
        if "outside the asker's access (a peer feedback draft is allowed)" in e.prompt:
            assert '"kind": "peer"' in e.answer, e.id


def test_third_person_turns_first_person_sentences_round() -> None:
    assert (
        third_person("I ran the three cross-team syncs and wrote my notes.", "Ana")
        == "Ana ran the three cross-team syncs and wrote their notes [1]."
    )
    assert third_person("I've paired with the new hires.", "Ana") == (
        "Ana has paired with the new hires [1]."
    )
    assert third_person("We shipped it together.", "Ana") is None
    assert third_person("Priya paired with me.", "Ana") is None


def test_the_build_is_reproducible_and_written_whole(tmp_path: Path) -> None:
    small = BuildConfig(route_train=40, route_eval=10, phrase_train=5, phrase_eval=3)
    first = build_examples(small)
    again = build_examples(small)
    assert [e.to_json() for e in first] == [e.to_json() for e in again]
    stats = write_dataset(first, tmp_path)
    assert stats["train"]["examples"] == sum(e.split == "train" for e in first)
    back = read_examples(tmp_path / "train.jsonl")
    assert [e.to_json() for e in back] == [e.to_json() for e in first if e.split == "train"]
    assert not list(tmp_path.glob("*.tmp"))
    other = build_examples(
        BuildConfig(seed=1, **{k: v for k, v in vars(small).items() if k != "seed"})
    )
    assert [e.prompt for e in other] != [e.prompt for e in first]

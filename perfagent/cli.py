"""The `perfagent` command line (contract section 3): a thin layer over the services.

Exit codes: 0 ok, 2 bad input (one line on stderr), 3 permission refusal.
`--json` prints exactly one JSON object on stdout; progress and notes go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from perfagent.errors import BadInputError, PerfagentError
from perfagent.offline import configure_offline_env

configure_offline_env()  # before any Hugging Face library is imported


def _data_dir() -> Path:
    """The bundled data sets (the `perfagent.data` package: data/ in a checkout)."""
    from importlib.resources import files

    return Path(str(files("perfagent.data")))


def _container(args: argparse.Namespace, *, writable: bool = False, purpose: str = ""):
    from perfagent.container import Container
    from perfagent.settings import load_settings

    return Container(load_settings(args.home), writable=writable, purpose=purpose)


def _emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise BadInputError(f"{path}: no such file or directory")
    container = _container(args, writable=True, purpose=f"perfagent ingest {path}")
    org_file = Path(args.org) if args.org else None
    if org_file is None and path.is_dir() and (path / "org.csv").is_file():
        org_file = path / "org.csv"
    if org_file is not None:
        org = container.install_org(org_file)
        print(f"org: {len(org)} people from {org_file}", file=sys.stderr)
    report = container.ingestor().run(path, prune=args.prune, progress=not args.no_progress)
    if args.json:
        _emit_json(report.to_json())
    else:
        print(report.summary())
    return 0


def _parse_types(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def cmd_search(args: argparse.Namespace) -> int:
    from perfagent.periods import parse_period

    container = _container(args)
    service = container.search_service
    viewer = service.policy.viewer(args.as_id)
    period = parse_period(args.period) if args.period else service.default_period()
    hits = service.search(
        viewer,
        args.query,
        employee_id=args.employee,
        doc_types=_parse_types(args.type),
        period=period,
        k=args.k,
    )
    if args.json:
        _emit_json({"results": [h.to_json() for h in hits]})
        return 0
    org = container.org
    print(f"{len(hits)} results for {viewer.person.name} ({viewer.employee_id}), period {period}")
    for i, hit in enumerate(hits, start=1):
        subject = org.people[hit.employee_id].name
        title = f" — {hit.title}" if hit.title else ""
        print(f"\n[{i}] {hit.date} {hit.doc_type} about {subject}, by {hit.author}{title}")
        print(f"    score {hit.score:.3f}  {hit.chunk_id}")
        print(textwrap.indent(textwrap.fill(hit.text, 96), "    "))
    return 0


def _subject(container: Any, viewer: Any, employee: str) -> str:
    """The employee argument (an id or a name) as an id the viewer may see."""
    from perfagent.retrieval.people import resolve_person

    return resolve_person(container.org, viewer, employee).employee_id


def _dimensions(value: str | None) -> list[str] | None:
    return [d.strip() for d in value.split(",") if d.strip()] if value else None


def cmd_score(args: argparse.Namespace) -> int:
    from perfagent.periods import parse_period

    container = _container(args)
    viewer = container.search_service.policy.viewer(args.as_id)
    subject = _subject(container, viewer, args.employee)
    period = parse_period(args.period) if args.period else None
    report = container.scoring_service.score(
        viewer, subject, period=period, dimensions=_dimensions(args.dimensions)
    )
    if args.json:
        _emit_json(report.to_json())
    else:
        print(report.to_text())
    return 0


def cmd_draft(args: argparse.Namespace) -> int:
    from perfagent.periods import parse_period

    container = _container(args)
    viewer = container.search_service.policy.viewer(args.as_id)
    if args.kind == "peer":
        # A peer draft uses only the writer's own documents: resolve among everyone, since the
        # writer may name a colleague whose documents they cannot see.
        from perfagent.retrieval.access import Viewer

        subject = _subject(container, Viewer(viewer.person, None), args.employee)
    else:
        subject = _subject(container, viewer, args.employee)
    period = parse_period(args.period) if args.period else None
    draft = container.drafting_service.draft(
        viewer, subject, args.kind, period=period, dimensions=_dimensions(args.dimensions)
    )
    if args.json:
        _emit_json(draft.to_json())
    else:
        print(draft.to_text())
    return 0


def _agent_container(args: argparse.Namespace, *, writable: bool = False) -> Any:
    """The container `ask`, `chat` and `serve` use: the home's, or, while nothing has been
    ingested there, a demo home under it with the bundled demo organisation (ingested once)."""
    from perfagent.container import Container
    from perfagent.settings import load_settings

    container = _container(args, writable=writable, purpose="perfagent serve" if writable else "")
    if container.settings.org_file.is_file():
        return container
    demo_home = container.settings.home / "demo"
    demo = Container(load_settings(demo_home), writable=True, purpose="perfagent demo")
    if not demo.settings.org_file.is_file():
        print(
            f"nothing ingested in {container.settings.home} yet: using the bundled demo "
            f"organisation (ingesting it once into {demo_home})",
            file=sys.stderr,
        )
        source = _data_dir() / "demo"
        demo.install_org(source / "org.csv")
        demo.ingestor().run(source, progress=False)
    return demo


def _today(value: str | None) -> Any:
    from datetime import date

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInputError(f"--today {value}: not a date (YYYY-MM-DD)") from None


def _format_args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())


def _run_turn(agent: Any, viewer: Any, question: str, *, thread_id: str, today: Any) -> Any:
    """One turn, printing tool steps to stderr and the answer to stdout as it comes."""
    from perfagent.agent.graph import AgentAnswer, AnswerText, ToolDone, ToolStep

    final = None
    for event in agent.stream(viewer, question, thread_id=thread_id, today=today):
        if isinstance(event, ToolStep):
            print(f"-> {event.name}({_format_args(event.args)})", file=sys.stderr, flush=True)
        elif isinstance(event, ToolDone):
            print(f"   done in {event.seconds:.1f} s", file=sys.stderr, flush=True)
        elif isinstance(event, AnswerText):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, AgentAnswer):
            final = event
    sys.stdout.write("\n")
    return final


def cmd_ask(args: argparse.Namespace) -> int:
    container = _agent_container(args)
    viewer = container.search_service.policy.viewer(args.as_id)
    agent = container.agent
    today = _today(args.today)
    if args.json:
        answer = agent.ask(viewer, args.question, today=today)
        _emit_json(answer.to_json())
    else:
        answer = _run_turn(agent, viewer, args.question, thread_id=agent.new_thread(), today=today)
    return 3 if answer.refused else 0


def cmd_chat(args: argparse.Namespace) -> int:
    container = _agent_container(args)
    viewer = container.search_service.policy.viewer(args.as_id)
    agent = container.agent
    today = _today(args.today)
    thread = agent.new_thread()
    print(
        f"perfagent chat as {viewer.person.name} ({viewer.employee_id}). "
        "Ask about someone's work; /new starts over, /quit (or Ctrl-D) leaves.",
        file=sys.stderr,
    )
    while True:
        try:
            line = input("you> ")
        except EOFError:
            print(file=sys.stderr)
            return 0
        question = line.strip()
        if not question:
            continue
        if question in ("/quit", "/exit"):
            return 0
        if question == "/new":
            thread = agent.new_thread()
            print("(new conversation)", file=sys.stderr)
            continue
        try:
            _run_turn(agent, viewer, question, thread_id=thread, today=today)
        except BadInputError as exc:
            print(f"perfagent: {exc}", file=sys.stderr)


def cmd_eval(args: argparse.Namespace) -> int:
    from perfagent.tools.evaluation import evaluate_scoring

    sets = {"demo": _data_dir() / "demo", "eval_alt": _data_dir() / "eval_alt"}
    chosen = args.set or ["demo", "eval_alt"]
    results = []
    shared = None
    for name in chosen:
        source = sets.get(name, Path(name))
        if not source.is_dir():
            raise BadInputError(f"{source}: no such evaluation set (demo, eval_alt or a directory)")
        print(f"evaluating {source} ...", file=sys.stderr)
        result = evaluate_scoring(
            source, swap=not args.no_swap, drafts=not args.no_drafts, embeddings=shared
        )
        results.append(result)
    if args.json:
        _emit_json({"scoring": [r.to_json() for r in results]})
        return 0
    for r in results:
        mean = "n/a" if r.mean_spearman is None else f"{r.mean_spearman:.2f}"
        print(f"{r.name}: mean Spearman {mean}")
        for dim, rho in r.spearman.items():
            print(f"  {dim:<14} {'n/a' if rho is None else f'{rho:+.2f}'}")
        if r.thin_insufficient_share is not None:
            print(
                f"  thin-evidence people: {r.thin_insufficient_share:.0%} of dimensions insufficient"
            )
        print(
            f"  draft sentences supported: {r.draft_supported_before_repair:.1%} as drafted, "
            f"{r.draft_supported_after_repair:.1%} after the verifier ({r.draft_sentences} sentences)"
        )
        if r.max_swap_change is not None:
            print(f"  largest score change under name/pronoun swaps: {r.max_swap_change:g}")
        print(f"  score one person (warm, median): {r.score_seconds_median:.2f} s")
    return 0


def _finetune_dir(args: argparse.Namespace) -> Path:
    from perfagent.settings import load_settings

    return load_settings(args.home).home / "finetune"


def cmd_finetune_build(args: argparse.Namespace) -> int:
    from perfagent.finetune.dataset import BuildConfig, build_examples, write_dataset

    out = Path(args.out) if args.out else _finetune_dir(args) / "data"
    config = BuildConfig(seed=args.seed)
    if args.route_train is not None:
        config.route_train = args.route_train
    stats = write_dataset(build_examples(config), out)
    if args.json:
        _emit_json({"out": str(out), **stats})
        return 0
    for split in ("train", "eval"):
        kinds = ", ".join(f"{k.rstrip(':')} {n}" for k, n in stats[split]["by_kind"].items())
        print(f"{split}: {stats[split]['examples']} examples ({kinds})")
    print(f"written to {out}/train.jsonl and eval.jsonl")
    return 0


def cmd_finetune_train(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from perfagent.agent.chat_model import resolve_model_dir
    from perfagent.finetune.dataset import read_examples
    from perfagent.finetune.train import train
    from perfagent.settings import load_settings

    settings = load_settings(args.home)
    overrides = {
        key: value
        for key, value in {
            "max_steps": args.steps,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.lr,
            "r": args.r,
            "alpha": args.alpha,
            "seed": args.seed,
            "decision_weight": args.decision_weight,
            "target_modules": args.target_modules.split(",") if args.target_modules else None,
        }.items()
        if value is not None
    }
    try:  # flags get the settings' checks
        config = type(settings.finetune).model_validate(
            {**settings.finetune.model_dump(), **overrides}
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"])
        raise BadInputError(f"finetune {field}: {problem['msg']}") from None
    data = Path(args.data) if args.data else settings.home / "finetune" / "data" / "train.jsonl"
    if data.is_dir():
        data = data / "train.jsonl"
    if not data.is_file():
        raise BadInputError(f"{data}: no training data (run `perfagent finetune build` first)")
    out = Path(args.out) if args.out else settings.home / "finetune" / "adapter"
    base = resolve_model_dir(
        args.base if args.base is not None else settings.agent.model, settings.models_dir
    )
    examples = read_examples(data)
    print(
        f"training a LoRA adapter for {base} on {len(examples)} examples -> {out}", file=sys.stderr
    )
    result = train(base, examples, out, config, resume=not args.no_resume)
    print(
        f"adapter saved to {result.out} ({result.steps} steps, {result.seconds / 60:.1f} min, "
        f"final loss {result.final_loss:.4f}); use it with agent.adapter: {result.out}"
    )
    return 0


def cmd_eval_routing(args: argparse.Namespace) -> int:
    from perfagent.agent.chat_model import resolve_model_dir
    from perfagent.agent.model_factory import adapter_path
    from perfagent.finetune.evaluation import evaluate_routing, results_table, write_card
    from perfagent.settings import load_settings

    settings = load_settings(args.home)
    trained = settings.home / "finetune" / "adapter"
    if args.adapter:
        adapter = adapter_path(args.adapter, settings.agent.model)
    elif (trained / "adapter_config.json").is_file():
        adapter = str(trained)  # the one `perfagent finetune train` just wrote
    else:
        adapter = adapter_path(settings.agent.adapter, settings.agent.model)
    if not adapter or not (Path(adapter) / "adapter_config.json").is_file():
        raise BadInputError(
            f"{adapter or 'no adapter'}: not a PEFT adapter (train one with "
            "`perfagent finetune train`, or pass --adapter DIR)"
        )
    base = resolve_model_dir(
        args.base if args.base is not None else settings.agent.model, settings.models_dir
    )
    print(f"evaluating {base}: base model vs adapter {adapter}", file=sys.stderr)
    evaluation = evaluate_routing(
        base,
        adapter,
        synthetic=args.synthetic,
        phrase=args.phrase,
        limit=args.limit,
        progress=None if args.quiet else lambda line: print(line, file=sys.stderr),
    )
    card = None
    if not args.no_card:
        try:
            card = write_card(Path(adapter), evaluation)
        except OSError as exc:
            print(f"perfagent: could not write the model card: {exc}", file=sys.stderr)
    if args.json:
        _emit_json({**evaluation.to_json(), "card": str(card) if card else None})
        return 0
    print(results_table(evaluation))
    if card:
        print(f"model card: {card}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from perfagent.settings import load_settings
    from perfagent.ui.accounts import SignIn, UserStore
    from perfagent.ui.gradio_ui import UiOptions
    from perfagent.ui.server import build_app

    settings = load_settings(args.home)
    container = _agent_container(args, writable=True)
    # demo accounts exist only for the bundled, fictional demo organisation
    bundled = (_data_dir() / "demo" / "org.csv").read_text(encoding="utf-8-sig")
    demo = container.settings.org_file.read_text(encoding="utf-8-sig") == bundled
    ui = settings.ui
    sign_in = SignIn(
        container.org,
        UserStore(settings.users_file),
        demo_password=ui.demo_password if demo else None,
    )
    options = UiOptions(
        demo=demo,
        uploads_dir=container.settings.home / "uploads",
        max_concurrent_chats=ui.max_concurrent_chats,
    )
    from perfagent.slack.router import build_slack_routes

    slack_routes, slack_bot = build_slack_routes(container, settings.slack, container.settings.home)
    app = build_app(
        container,
        sign_in,
        options,
        trusted_header=ui.trusted_header or None,
        slack_routes=slack_routes,
    )
    host = args.host or ui.host
    port = args.port or ui.port
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    print(f"perfagent is serving at http://{shown}:{port}/", file=sys.stderr)
    if ui.trusted_header:
        print(f"sign-in: the {ui.trusted_header} header of your SSO proxy", file=sys.stderr)
    elif demo:
        print(f"demo accounts (password: {ui.demo_password}):", file=sys.stderr)
        for account in sign_in.demo_accounts():
            print(
                f"  {account.employee_id}  {account.name}, {account.role} ({account.title})",
                file=sys.stderr,
            )
    elif not sign_in.users or not sign_in.users.ids():
        print(
            f"no accounts yet: add one with `perfagent users add ID` ({settings.users_file})",
            file=sys.stderr,
        )
    if slack_bot is not None:
        print(
            f"Slack: answering at http://{shown}:{port}/slack/events and /slack/commands",
            file=sys.stderr,
        )
    else:
        print(
            f"Slack: off (set {settings.slack.signing_secret_env} and "
            f"{settings.slack.bot_token_env} to turn it on)",
            file=sys.stderr,
        )
    container.agent  # load the model before the first visitor waits for it  # noqa: B018
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    import getpass

    from perfagent.settings import load_settings
    from perfagent.ui.accounts import UserStore

    settings = load_settings(args.home)
    store = UserStore(settings.users_file)
    if args.users_command == "list":
        for employee_id in store.ids():
            print(employee_id)
        return 0
    employee_id = args.employee_id
    if args.users_command == "remove":
        if not store.remove(employee_id):
            raise BadInputError(f"no account {employee_id} in {settings.users_file}")
        print(f"removed {employee_id}", file=sys.stderr)
        return 0
    org = _container(args).org
    org.get(employee_id)  # an unknown id is bad input
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {employee_id}: ")
        if getpass.getpass("again: ") != password:
            raise BadInputError("the passwords differ")
    else:
        raise BadInputError("no terminal to ask for the password: use --password-stdin")
    store.set_password(employee_id, password)
    print(f"{employee_id} can sign in ({settings.users_file})", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfagent", description="Evidence-based performance feedback, offline."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        help="data directory (default: $PERFAGENT_HOME, else the per-user data dir)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="load documents into the store")
    p.add_argument("path", help="a directory (searched recursively) or one file")
    p.add_argument("--org", help="org.csv (default: PATH/org.csv if present, else the home's)")
    p.add_argument("--prune", action="store_true", help="remove documents no longer under PATH")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", parents=[common], help="permission-aware retrieval")
    p.add_argument("--as", dest="as_id", required=True, metavar="ID", help="the viewer")
    p.add_argument("query")
    p.add_argument("--employee", metavar="ID", help="only documents about this person")
    p.add_argument(
        "--type", action="append", metavar="T", help="doc_type filter (repeat or comma-separate)"
    )
    p.add_argument("--period", metavar="P", help="2026-Q3, 2026-H1, 2026, 2026-07 or A..B")
    p.add_argument("--k", type=int, default=None, help="number of results (default 8)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("score", parents=[common], help="dimension scores with evidence")
    p.add_argument("--as", dest="as_id", required=True, metavar="ID", help="the viewer")
    p.add_argument("employee", help="an employee id or name")
    p.add_argument("--period", metavar="P", help="2026-Q3, 2026-H1, 2026, 2026-07 or A..B")
    p.add_argument("--dimensions", metavar="D,D", help="only these dimensions (comma-separated)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("draft", parents=[common], help="a feedback draft with citations")
    p.add_argument("--as", dest="as_id", required=True, metavar="ID", help="the viewer")
    p.add_argument("employee", help="an employee id or name")
    p.add_argument("--kind", required=True, choices=["manager", "self", "peer"])
    p.add_argument("--period", metavar="P", help="2026-Q3, 2026-H1, 2026, 2026-07 or A..B")
    p.add_argument("--dimensions", metavar="D,D", help="only these dimensions (comma-separated)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_draft)

    p = sub.add_parser("ask", parents=[common], help="one agent turn, answered with citations")
    p.add_argument("--as", dest="as_id", required=True, metavar="ID", help="the viewer")
    p.add_argument("question")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="resolve 'last quarter' etc. against this")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[common], help="an interactive, multi-turn conversation")
    p.add_argument("--as", dest="as_id", required=True, metavar="ID", help="the viewer")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="resolve 'last quarter' etc. against this")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve", parents=[common], help="the web UI (and Slack routes)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("users", help="web UI accounts (passwords in <home>/users.json)")
    users_sub = p.add_subparsers(dest="users_command", required=True)
    u = users_sub.add_parser("add", parents=[common], help="add an account or set its password")
    u.add_argument("employee_id", metavar="ID")
    u.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    u.set_defaults(func=cmd_users)
    u = users_sub.add_parser("remove", parents=[common], help="remove an account")
    u.add_argument("employee_id", metavar="ID")
    u.set_defaults(func=cmd_users)
    u = users_sub.add_parser("list", parents=[common], help="the accounts, one id a line")
    u.set_defaults(func=cmd_users)

    p = sub.add_parser("finetune", help="build data for and train the chat model's LoRA adapter")
    ft_sub = p.add_subparsers(dest="finetune_command", required=True)
    f = ft_sub.add_parser("build", parents=[common], help="write the instruction examples")
    f.add_argument("--out", help="output directory (default: <home>/finetune/data)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--route-train", type=int, help="synthetic routing examples for training")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_finetune_build)
    f = ft_sub.add_parser("train", parents=[common], help="train a LoRA adapter (CPU)")
    f.add_argument("--data", help="train.jsonl or its directory (default: <home>/finetune/data)")
    f.add_argument("--out", help="adapter directory (default: <home>/finetune/adapter)")
    f.add_argument("--base", help="base model (default: the agent's model setting)")
    f.add_argument("--steps", type=int, help="stop after this many steps")
    f.add_argument("--epochs", type=float)
    f.add_argument("--batch-size", type=int)
    f.add_argument("--lr", type=float, help="learning rate")
    f.add_argument("--r", type=int, help="LoRA rank")
    f.add_argument("--alpha", type=int, help="LoRA alpha")
    f.add_argument(
        "--target-modules", metavar="A,B", help="modules to adapt (default q_proj,v_proj)"
    )
    f.add_argument(
        "--decision-weight", type=float, help="loss weight of an answer's first token (5)"
    )
    f.add_argument("--seed", type=int)
    f.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    f.set_defaults(func=cmd_finetune_train)

    p = sub.add_parser("eval", help="the project's own evaluations")
    eval_sub = p.add_subparsers(dest="evaluation", required=True)
    e = eval_sub.add_parser("scoring", help="scores vs designed levels, drafts, swap fairness")
    e.add_argument(
        "--set", action="append", metavar="NAME", help="demo, eval_alt or a directory (repeat)"
    )
    e.add_argument("--no-swap", action="store_true", help="skip the name/pronoun swap test")
    e.add_argument("--no-drafts", action="store_true", help="skip the draft checks")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval)
    e = eval_sub.add_parser(
        "routing", parents=[common], help="base model vs LoRA adapter on held-out routing"
    )
    e.add_argument(
        "--adapter",
        help="adapter directory or 'bundled' (default: the one trained "
        "in <home>/finetune/adapter, else the configured one)",
    )
    e.add_argument("--base", help="base model (default: the agent's model setting)")
    e.add_argument("--synthetic", type=int, default=60, help="synthetic eval-split cases")
    e.add_argument("--phrase", type=int, default=30, help="phrasing cases")
    e.add_argument("--limit", type=int, help="at most this many cases per routing set")
    e.add_argument("--no-card", action="store_true", help="do not write the model card")
    e.add_argument("--quiet", action="store_true", help="no per-case progress")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=cmd_eval_routing)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PerfagentError as exc:
        print(f"perfagent: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfagent: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

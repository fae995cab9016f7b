# Two entry points for a newcomer: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DOVECOT_PKGS := dovecot-imapd dovecot-lmtpd dovecot-sieve

.PHONY: demo test venv dovecot chromium unit middle lint perf sweep sweep-held-out clean

demo: venv dovecot  ## run inboxd against a local Dovecot + SMTP hub with sample mail, print what it did
	$(BIN)/inboxd demo

test: venv dovecot chromium  ## install what the tests need and run them all
	$(BIN)/python -m pytest -q

unit: venv  ## the pure-core tests only (seconds)
	$(BIN)/python -m pytest -q tests/unit

middle: venv  ## the message path, due work and outbox on SQLite with a fake SMTP server (no servers; seconds)
	$(BIN)/python -m pytest -q tests/middle

lint: venv
	$(BIN)/ruff check inboxd tests
	$(BIN)/mypy

perf: venv dovecot chromium  ## benchmarks: print throughput, latency and memory
	$(BIN)/python tests/perf/bench_backlog.py
	$(BIN)/python tests/perf/bench_parse.py
	$(BIN)/python tests/perf/bench_classify.py
	$(BIN)/python tests/perf/bench_rules.py  # hostile patterns against 50 kB bodies: per-message cost of the rules
	$(BIN)/python tests/perf/score_commitments.py
	$(BIN)/python tests/perf/score_replies.py  # reply text: exact and leak rates, tuned and held-out splits
	$(BIN)/python tests/perf/bench_language.py  # detectors on short texts: accuracy, memory, time per text
	$(BIN)/python tests/perf/bench_eta_store.py
	$(BIN)/python tests/perf/bench_status_page.py  # GET /, /metrics and the browser load with 100,000 cases
	$(BIN)/python tests/perf/bench_history.py  # ingest, tick, cases list, stats with 1,000,000 cases (cached in /tmp)
	$(BIN)/python tests/perf/bench_read_write.py  # writers while the status page reads: BEGIN IMMEDIATE vs a deferred read
	$(BIN)/python tests/perf/bench_eta.py --jobs 2  # the simulated workloads against the issue's targets
	$(BIN)/python tests/perf/soak_oauth.py  # 5 minutes from the installed wheel on OAuth, tokens expiring every minute
	if [ -n "$$INBOXD_TEST_POSTGRES_URL" ]; then $(BIN)/python tests/perf/bench_nodes.py; fi  # two daemons vs one

SWEEP_COUNT ?= 200
SWEEP_JOBS ?= 2
sweep: venv  ## the estimate on SWEEP_COUNT random workloads (hours on 2 cores; resumable, rows in sweep.jsonl)
	$(BIN)/python tests/perf/sweep_eta.py --count $(SWEEP_COUNT) --jobs $(SWEEP_JOBS) --out sweep.jsonl

sweep-held-out: venv  ## the same on the held-out seeds, once, for final figures (never to tune on)
	$(BIN)/python tests/perf/sweep_eta.py --held-out --count $(SWEEP_COUNT) --jobs $(SWEEP_JOBS) --out sweep-held-out.jsonl

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,demo]'
	touch $@

dovecot:
	@if ! command -v dovecot >/dev/null && [ ! -x /usr/sbin/dovecot ]; then \
	  echo "installing Dovecot ($(DOVECOT_PKGS))"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DOVECOT_PKGS) >/dev/null; \
	fi

chromium:  ## Debian's chromium, for the status page's browser test (driven by Playwright, no browser download)
	@if ! command -v chromium >/dev/null; then \
	  echo "installing chromium"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

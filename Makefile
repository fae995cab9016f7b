# Two entry points for a newcomer: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DOVECOT_PKGS := dovecot-imapd dovecot-lmtpd dovecot-sieve

.PHONY: demo test venv dovecot chromium unit lint perf sweep sweep-held-out clean

demo: venv dovecot  ## run inboxd against a local Dovecot + SMTP hub with sample mail, print what it did
	$(BIN)/inboxd demo

test: venv dovecot chromium  ## install what the tests need and run them all
	$(BIN)/python -m pytest -q

unit: venv  ## the pure-core tests only (seconds)
	$(BIN)/python -m pytest -q tests/unit

lint: venv
	$(BIN)/ruff check inboxd tests
	$(BIN)/mypy

perf: venv dovecot chromium  ## benchmarks: print throughput, latency and memory
	$(BIN)/python tests/perf/bench_backlog.py
	$(BIN)/python tests/perf/bench_parse.py
	$(BIN)/python tests/perf/bench_classify.py
	$(BIN)/python tests/perf/score_commitments.py
	$(BIN)/python tests/perf/bench_eta_store.py
	$(BIN)/python tests/perf/bench_status_page.py  # GET /, /metrics and the browser load with 100,000 cases
	$(BIN)/python tests/perf/bench_eta.py --jobs 2  # the simulated workloads against the issue's targets
	$(BIN)/python tests/perf/soak_oauth.py  # 5 minutes from the installed wheel on OAuth, tokens expiring every minute

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

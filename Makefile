# 邻里通 — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask
HOST   ?= 127.0.0.1
PORT   ?= 5000
WEUI_CSS := static/vendor/weui/weui.min.css

export FLASK_APP := community_board:create_app

.PHONY: install vendor run test lint browser-deps bench clean

install: $(VENV)/.installed vendor

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,postgres]'
	touch $@

# WeUI comes from npm and is copied into static/vendor (git-ignored); no CDN at run time.
vendor: $(WEUI_CSS)

$(WEUI_CSS): package.json
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-audit --no-fund --silent && \
		mkdir -p $(dir $@) && cp node_modules/weui/dist/style/weui.min.css $@; \
	else \
		echo "npm not found: WeUI is not vendored; pages fall back to static/css/app.css"; \
	fi

# Creates the database (migrations), loads demo data, prints the demo logins, serves.
run: export CB_CONFIG ?= development
run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(FLASK) run --host $(HOST) --port $(PORT) --no-debugger --no-reload

# Chromium drives the browser tests, and a CJK font makes their screenshots readable;
# install both from Debian when they are missing.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		echo "Installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
		(apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
		|| echo "chromium could not be installed: browser tests will be skipped"; \
	fi

# SQLite always; PostgreSQL again when TEST_DATABASE_URL is set (.ci/run sets it when pg_isready answers).
test: install browser-deps lint
	env -u TEST_DATABASE_URL $(PY) -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the suite again on PostgreSQL =="; \
		$(PY) -m pytest; \
	fi

# ruff (settings in pyproject.toml): the linter and the formatter's check, run before the suite.
# `.venv/bin/ruff format .` formats the tree.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Performance: the real app under gunicorn, loaded with wrk, against a bare-template ceiling.
# BENCH_POSTS / BENCH_COMPOUNDS / BENCH_SECONDS set the size; results in benchmarks/results/latest.json.
bench: install
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) node_modules static/vendor tests/artifacts

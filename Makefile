# paperwatch: `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONFIG ?= config.toml

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test prove bench eval check clean system-deps stage install-service screenshots lock

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# pytest rewrites its plugins' modules (hypothesis: 74) once per venv: done here, not
	# in each test worker of the first run
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q --collect-only tests/test_layout.py >/dev/null
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/paperwatch --config $(CONFIG) run

# Debian packages the tests use: chromium (the web page's browser test); bubblewrap,
# python3-venv and systemd's systemd-analyze (the service install test); bibtex
# (texlive-binaries: BibTeX itself reads the BibTeX output)
system-deps:
	@command -v chromium >/dev/null 2>&1 && command -v bwrap >/dev/null 2>&1 && \
	  command -v systemd-analyze >/dev/null 2>&1 && dpkg -s python3-venv >/dev/null 2>&1 && \
	  command -v bibtex >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    chromium bubblewrap python3 python3-venv systemd && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends texlive-binaries; }

# requirements.lock: what the service install pins (every runtime dependency, similar
# watchlists' included, with hashes), made by pip-tools from pyproject.toml
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --extra similar --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# the service, as docs/operations.md's "Run as a service" says: sudo make install-service
install-service:
	$(SUDO) bash systemd/install.sh

# the same install into a staging root, for tests/test_install.py (a fresh config each time)
STAGE ?= /var/tmp/paperwatch-stage
stage: system-deps
	rm -rf $(STAGE)/etc $(STAGE)/var
	PREFIX=$(STAGE)/opt/paperwatch CONFDIR=$(STAGE)/etc/paperwatch \
	  STATEDIR=$(STAGE)/var/lib/paperwatch UNITDIR=$(STAGE)/etc/systemd/system START=no \
	  bash systemd/install.sh
	mkdir -p $(STAGE)/var/lib/paperwatch  # the StateDirectory systemd would make

# bytecode compiled once and cached, even where the environment turns caching off: the
# tests start some 80 daemons and CLIs
test: $(STAMP) system-deps stage
	$(BIN)/python -m compileall -q daemon tests
	@# pytest's rewritten test modules, cached once here rather than by each worker (a
	@# collection error is reported by the run below)
	-PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q --collect-only -p no:xdist tests >/dev/null
	PAPERWATCH_STAGE=$(STAGE) PYTHONDONTWRITEBYTECODE= \
	  $(BIN)/python -m pytest -q -n 4 --dist worksteal tests

# the proofs (hypothesis's @given tests, and the seeded ones marked `proof`) with twenty
# times the examples `make test` draws (tests/conftest.py: PROOF_SHARE); CI runs it
# after the suite
prove: $(STAMP) system-deps
	PAPERWATCH_PROOF_SHARE=5 PYTHONDONTWRITEBYTECODE= \
	  $(BIN)/python -m pytest -q -n 4 --dist worksteal -m 'hypothesis or proof' tests

bench: $(STAMP)
	$(BIN)/python bench/run.py

# the README's pictures of the page and the digest email, taken by the browser tests
screenshots: $(STAMP) system-deps
	PAPERWATCH_SCREENSHOTS=docs/screenshots PYTHONDONTWRITEBYTECODE= \
	  $(BIN)/python -m pytest -q tests/test_page.py tests/test_email_look.py

# "more like these" watchlists on the real corpus: precision against a centroid baseline
eval: $(STAMP)
	$(BIN)/python bench/similar_eval.py

check: $(STAMP) system-deps
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench
	$(BIN)/mypy  # strict over daemon/ and tests/ (pyproject.toml)
	bash systemd/check.sh

clean:
	rm -rf $(VENV) build *.egg-info

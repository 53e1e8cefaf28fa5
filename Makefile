# Two commands do all set-up on a fresh machine (Python 3.9+ and the package
# registries): `make demo` runs the main job on the embedded dataset, `make test`
# runs the whole test suite. Both create ./.venv on first use, with the exact
# stack of requirements/constraints.txt (setup.py itself only declares ranges).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
CONSTRAINTS := requirements/constraints.txt
STAMP  := $(VENV)/.installed
DEMO_DIR ?= work_dirs/demo
LINT_PATHS := mmtal_zoom tools tests configs setup.py

.PHONY: demo test venv lint clean

$(STAMP): setup.py mmtal_zoom/version.py $(CONSTRAINTS) \
		requirements/runtime.txt requirements/tests.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first and pinned (the CPU build here), so nothing else can pull a
	# CUDA build.
	$(PIP) install -q -c $(CONSTRAINTS) torch
	# the build backend in the venv: with --no-build-isolation setup.py sees
	# the venv (and would keep a full mmcv installed there).
	$(PIP) install -q -c $(CONSTRAINTS) setuptools
	$(PIP) install -q -c $(CONSTRAINTS) --no-build-isolation -e '.[tests]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py --work-dir $(DEMO_DIR)

# CI (.ci/run) runs exactly this: lint, then the whole test suite.
test: $(STAMP) lint
	$(PY) -m pytest tests -q -p no:cacheprovider

# flake8 + isort --check with the settings of setup.cfg (MMAction2's).
lint: $(STAMP)
	$(PY) -m flake8 $(LINT_PATHS)
	$(PY) -m isort --check-only --diff $(LINT_PATHS)

clean:
	rm -rf $(VENV) work_dirs mmtal_zoom/.mim

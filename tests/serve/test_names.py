"""The dotted paths `run` hands vLLM's `--middleware` name real classes of the serve package."""

import importlib

import pytest

from entrypoint.serve.names import MIDDLEWARES


@pytest.mark.parametrize("path", MIDDLEWARES)
def test_each_middleware_path_imports(path):
    module, _, name = path.rpartition(".")
    assert isinstance(getattr(importlib.import_module(module), name), type)

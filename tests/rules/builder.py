"""Rule inputs from plain data: no model dir on disk, no GPU, no vLLM import.

    ctx = derived(config={...}, gpus="2xA10", env={"TP": "2"})

`inputs` builds the frozen `Inputs` the read steps would have found; `derived` runs the rule
table over them. The whole pipeline (`cli.make_plan`) stays covered by the e2e and CLI tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from entrypoint.catalogs import gpus as gpu_catalog
from entrypoint.facts.launch_site import LaunchSite
from entrypoint.facts.model_dir import ModelFacts
from entrypoint.plan.plan import Plan
from entrypoint.rules.context import Context, Inputs
from entrypoint.rules.table import derive
from entrypoint.rules.to_plan import build
from entrypoint.settings import vllm_options
from entrypoint.settings.argv import parse_argv
from entrypoint.settings.given import read_given

OPTIONS = vllm_options.reference()

LLAMA_8B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
    "num_hidden_layers": 32, "vocab_size": 128256, "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}


def inputs(config: Mapping[str, Any] | None = None, gpus: str = "none",
            env: Mapping[str, str] | None = None, argv: Sequence[str] = (),
            checkpoint_bytes: int | None = None, files: Mapping[str, dict] | None = None,
            cpu_build: bool = False, site: LaunchSite | None = None,
            model: ModelFacts | None = None) -> Inputs:
    """`model`: facts read from a folder (facts.model_dir.read_model_dir) instead of `config`."""
    env = dict(env or {})
    parsed = parse_argv(["--model", str(model.path if model else "/data/model"), *argv], OPTIONS)
    model = model or ModelFacts(path=Path("/data/model"), config=dict(config or LLAMA_8B),
                                files=dict(files or {}), checkpoint_bytes=checkpoint_bytes)
    return Inputs(given=read_given(env, parsed.given, parsed.given_as), model=model,
                  hardware=gpu_catalog.assumed(gpus), argv=parsed, options=OPTIONS,
                  cpu_build=cpu_build, environ=env, site=site)


def derived(**kwargs: Any) -> Context:
    return derive(inputs(**kwargs))


def planned(**kwargs: Any) -> Plan:
    """The whole plan (argv, settings, facts) from plain data, as `run --dry-run` shows it."""
    return build(derived(**kwargs), ["vllm", "serve"])

"""The template catalog as data: names, the issue's order, parsers, args and template files
valid for vLLM, and the families table in docs/models.md."""

from __future__ import annotations

import ast
import json
from importlib import util
from pathlib import Path

import pytest

from entrypoint.catalogs import families
from entrypoint.settings.vllm_options import DATA_DIR


def test_every_conv_template_name_is_unique_and_found():
    names = families.known_names()
    assert len(names) == len(set(names))
    for name in names:
        assert name in families.by_name(name).conv_templates
    assert families.by_name("QWEN-7B-CHAT").family == "Qwen (1.x) Chat"


def test_issue_rows_keep_their_order():
    order = [f.name for f in families.catalog()]
    issue = ["generate", "hunyuan", "shennong_chat", "llama-3.2-vision", "llama-3.2", "llama-3.1",
             "qwen2.5", "baichuan2-chat", "llama-2", "llama-3", "qwen"]
    assert [name for name in order if name in issue] == issue


# --- the catalog's data is valid for vLLM -------------------------------------------------------

# vLLM 0.33's registered parser names (reference/vllm-0.33-facts.md section 6).
_TOOL_NAMES = (
    "apertus beam cohere_command3 cohere_command4 deepseek_v3 deepseek_v31 deepseek_v32 "
    "deepseek_v4 deepseek_v41 dots ernie45 functiongemma gemma4 gigachat3 glm45 glm47 granite "
    "granite-20b-fc granite4 hermes hf hunyuan_a13b hy_v3 hy_v4 inkling internlm jamba "
    "k2_horizon kimi_k2 kimi_k3 lfm2 ling3 llama3_json llama4_json llama4_pythonic longcat mimo "
    "minicpm5 minimax_m2 minimax_m3 mistral muse muse_glimmer musespark1x olmo3 openai "
    "phi4_mini_json plamo3 poolside_v1 pythonic qwen3_coder qwen3_json qwen3_xml seed_oss step3 "
    "step3p5 step5 xlam")
_REASONING_NAMES = (
    "beam cohere_command3 cohere_command4 deepseek_r1 deepseek_v3 deepseek_v4 deepseek_v41 "
    "ernie45 gemma4 glm45 glm47 granite granite_thinking_parser hf holo2 hunyuan_a13b hy_v3 "
    "hy_v4 inkling k2_horizon kimi_k2 kimi_k3 ling3 mimo minicpmv minimax_m2 "
    "minimax_m2_append_think minimax_m3 mistral muse muse_glimmer musespark1x nemotron_v3 olmo3 "
    "openai_gptoss plamo3 poolside_v1 qwen3 seed_oss step3 step3p5 step5")
VLLM_033_TOOL_PARSERS = set(_TOOL_NAMES.split())
VLLM_033_REASONING_PARSERS = set(_REASONING_NAMES.split())


def installed_parser_names(module: str, table: str) -> set[str] | None:
    """Names in the installed vLLM's registry table, read from source (vLLM is not imported)."""
    spec = util.find_spec("vllm")
    if spec is None or spec.origin is None:
        return None
    source = Path(spec.origin).parent / module / "__init__.py"
    for node in ast.walk(ast.parse(source.read_text())):
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == table:
            return {key.value for key in node.value.keys}
    return None


def catalog_names(attribute: str) -> set[str]:
    return {getattr(f, attribute) for f in families.catalog() if getattr(f, attribute)}


def test_tool_parsers_exist_in_vllm_0_33_and_the_installed_vllm():
    names = catalog_names("tool_call_parser")
    assert names <= VLLM_033_TOOL_PARSERS
    installed = installed_parser_names("tool_parsers", "_TOOL_PARSERS_TO_REGISTER")
    if installed is None:
        pytest.skip("no vLLM installed")
    assert names <= installed


def test_reasoning_parsers_exist_in_vllm_0_33_and_the_installed_vllm():
    names = catalog_names("reasoning_parser")
    assert names <= VLLM_033_REASONING_PARSERS
    installed = installed_parser_names("reasoning", "_REASONING_PARSERS_TO_REGISTER")
    if installed is None:
        pytest.skip("no vLLM installed")
    assert names <= installed


@pytest.mark.parametrize("table", sorted(DATA_DIR.glob("vllm-options-*.json")), ids=str)
def test_extra_args_and_emitted_flags_exist_in_every_option_table(table):
    kinds = json.loads(table.read_text())["kinds"]
    emitted = {"--chat-template", "--tool-call-parser", "--reasoning-parser",
               "--enable-auto-tool-choice", "--generation-config"}
    for family in families.catalog():
        emitted |= set(family.args)
    assert emitted <= set(kinds)


def test_every_template_file_exists_and_auto_tool_choice_has_a_parser():
    for family in families.catalog():
        assert family.template is None or family.template_path.is_file(), family.family
        assert not family.auto_tool_choice or family.tool_call_parser, family.family


def test_families_table_in_docs_is_fresh():
    from entrypoint.devtools import docs

    text = docs.MODELS_DOC.read_text()
    assert docs.render_models_doc(text) == text, "docs/models.md is stale: run `make docs`"
    for family in families.catalog():
        assert f"| {family.family} |" in text

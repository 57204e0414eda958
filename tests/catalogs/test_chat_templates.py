"""Every catalog template renders the exact prompt of its family's published format.

Rendered with jinja2 the way transformers (and so vLLM) renders chat templates: a sandboxed
environment with trim_blocks/lstrip_blocks, `raise_exception`, and a `tojson` that neither
escapes HTML nor sorts keys. One test renders through transformers itself to prove the match.
"""

from __future__ import annotations

import json

import pytest
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from entrypoint.catalogs import families

SINGLE = [{"role": "user", "content": "Hello!"}]
MULTI = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello."},
    {"role": "user", "content": "Bye"},
]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather", "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}
TOOL_TURNS = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
]
SPECIAL = {
    "llama-2.jinja": {"bos_token": "<s>", "eos_token": "</s>"},
    "llama-3.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "llama-3.1-json-tools.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "shennong.jinja": {"bos_token": "<s>", "eos_token": "</s>"},
}


def _raise(message: str):
    raise ValueError(message)


def render(template: str, messages, **extra) -> str:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = lambda value, indent=None: json.dumps(
        value, ensure_ascii=False, indent=indent)
    env.globals["raise_exception"] = _raise
    source = (families.TEMPLATES_DIR / template).read_text()
    context = {"add_generation_prompt": True, **SPECIAL.get(template, {}), **extra}
    return env.from_string(source).render(messages=messages, **context)


L3_SYS = "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
L3_USER = "<|start_header_id|>user<|end_header_id|>\n\n"
L3_ASSISTANT = "<|start_header_id|>assistant<|end_header_id|>\n\n"
KNOWLEDGE = "Cutting Knowledge Date: December 2023\n\n"

GOLDEN = {
    ("generate.jinja", "single"): "Hello!",
    ("generate.jinja", "multi"): "You are terse.HiHello.Bye",
    ("chatml.jinja", "single"):
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    ("chatml.jinja", "multi"):
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
        "<|im_start|>assistant\n",
    ("llama-2.jinja", "single"): "<s>[INST] Hello! [/INST]",
    ("llama-2.jinja", "multi"):
        "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello. </s>"
        "<s>[INST] Bye [/INST]",
    ("llama-3.jinja", "single"):
        "<|begin_of_text|>" + L3_USER + "Hello!<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.jinja", "multi"):
        L3_SYS + "You are terse.<|eot_id|>" + L3_USER + "Hi<|eot_id|>" + L3_ASSISTANT
        + "Hello.<|eot_id|>" + L3_USER + "Bye<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "single"):
        L3_SYS + KNOWLEDGE + "<|eot_id|>" + L3_USER + "Hello!<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "multi"):
        L3_SYS + KNOWLEDGE + "You are terse.<|eot_id|>" + L3_USER + "Hi<|eot_id|>"
        + L3_ASSISTANT + "Hello.<|eot_id|>" + L3_USER + "Bye<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "tools"):
        L3_SYS + KNOWLEDGE
        + "You have access to the following functions. To call one, answer with only a JSON "
          'object of the form {"name": function name, "parameters": dictionary of argument name '
          "and its value}. Do not use variables.\n\n"
          '{\n    "name": "get_weather",\n    "description": "Weather in a city.",\n'
          '    "parameters": {\n        "type": "object",\n        "properties": {\n'
          '            "city": {\n                "type": "string"\n            }\n'
          '        },\n        "required": [\n            "city"\n        ]\n    }\n}\n\n'
          "<|eot_id|>"
        + L3_USER + "Weather in Paris?<|eot_id|>"
        + L3_ASSISTANT + '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>'
        + "<|start_header_id|>ipython<|end_header_id|>\n\n" + '{"temp": 21}<|eot_id|>'
        + L3_ASSISTANT,
    ("baichuan2.jinja", "single"): "<reserved_106>Hello!<reserved_107>",
    ("baichuan2.jinja", "multi"):
        "You are terse.<reserved_106>Hi<reserved_107>Hello.<reserved_106>Bye<reserved_107>",
    ("hunyuan.jinja", "single"): "<|startoftext|>Hello!<|extra_0|>",
    ("hunyuan.jinja", "multi"):
        "<|startoftext|>You are terse.<|extra_4|><|startoftext|>Hi<|extra_0|>Hello.<|eos|>"
        "<|startoftext|>Bye<|extra_0|>",
    ("shennong.jinja", "single"): "User: Hello!\nAssistant:",
    ("shennong.jinja", "multi"):
        "You are terse.\n\nUser: Hi\nAssistant: Hello.</s>\nUser: Bye\nAssistant:",
}
CASES = {"single": (SINGLE, {}), "multi": (MULTI, {}), "tools": (TOOL_TURNS, {"tools": [WEATHER]})}


@pytest.mark.parametrize("template, case", sorted(GOLDEN), ids=lambda v: str(v))
def test_golden_prompt(template, case):
    messages, extra = CASES[case]
    assert render(template, messages, **extra) == GOLDEN[(template, case)]


def test_every_catalog_template_has_goldens_and_tool_families_a_tool_golden():
    for family in families.catalog():
        if family.template:
            assert (family.template, "single") in GOLDEN and (family.template, "multi") in GOLDEN
            if family.tool_call_parser:
                assert (family.template, "tools") in GOLDEN, family.family


def test_llama_vision_images_become_image_tokens():
    messages = [{"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": "Describe it."}]}]
    assert render("llama-3.1-json-tools.jinja", messages) == (
        L3_SYS + KNOWLEDGE + "<|eot_id|>" + L3_USER + "<|image|>Describe it.<|eot_id|>"
        + L3_ASSISTANT)


def test_llama_tool_call_arguments_given_as_an_object():
    turns = [TOOL_TURNS[0], {"role": "assistant", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}]
    rendered = render("llama-3.1-json-tools.jinja", turns, add_generation_prompt=False)
    assert rendered.endswith(
        L3_ASSISTANT + '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>')


def test_llama_2_refuses_turns_out_of_order():
    with pytest.raises(ValueError, match="alternate"):
        render("llama-2.jinja", [{"role": "assistant", "content": "Hi"}])


def test_transformers_renders_the_same():
    """vLLM renders through transformers: its environment must give the golden strings too."""
    from transformers.utils.chat_template_utils import render_jinja_template

    for template in ("llama-3.1-json-tools.jinja", "chatml.jinja"):
        source = (families.TEMPLATES_DIR / template).read_text()
        messages, extra = CASES["tools" if "tools" in template else "multi"]
        rendered, _ = render_jinja_template(
            conversations=[messages], chat_template=source, add_generation_prompt=True,
            **SPECIAL.get(template, {}), **extra)
        assert rendered[0] == render(template, messages, **extra)

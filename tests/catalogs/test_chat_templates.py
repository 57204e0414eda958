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
from tests.catalogs import tool_template_goldens as goldens

SINGLE = [{"role": "user", "content": "Hello!"}]
SYSTEM = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}]
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
    "llama-3.1-json-tools.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                                   "date_string": "26 Jul 2024"},
    "shennong.jinja": {"bos_token": "<s>", "eos_token": "</s>"},
    "llama-4-pythonic-tools.jinja": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot|>"},
    "internlm2-tools.jinja": {"bos_token": "<s>", "eos_token": "</s>"},
    "mistral-tools.jinja": {"bos_token": "<s>", "eos_token": "</s>"},
}


def _raise(message: str):
    raise ValueError(message)


def as_vllm_passes(messages):
    """vLLM parses each tool call's JSON `arguments` into an object before rendering."""
    out = []
    for message in messages:
        if message.get("tool_calls"):
            calls = [{**call, "function": {**call["function"], "arguments": json.loads(
                call["function"]["arguments"])}} if isinstance(
                call.get("function", {}).get("arguments"), str) else call
                for call in message["tool_calls"]]
            message = {**message, "tool_calls": calls}
        out.append(message)
    return out


def render(template: str, messages, **extra) -> str:
    messages = as_vllm_passes(messages)
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
# Meta's Llama 3.1 / 3.2 templates (tokenizer_config.json of meta-llama/Llama-3.1-8B-Instruct and
# Llama-3.2-3B-Instruct): these two lines open every system turn, `Environment: ipython` first
# when tools are given; the tools and the call instructions go in the first user turn, each tool
# dumped as given ({"type": "function", "function": {...}}) with indent 4.
DATES = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
L31_TOOLS_USER = (
    L3_USER + "Given the following functions, please respond with a JSON for a function call "
    "with its proper arguments that best answers the given prompt.\n\n"
    'Respond in the format {"name": function name, "parameters": dictionary of argument name '
    'and its value}.Do not use variables.\n\n'
    '{\n    "type": "function",\n    "function": {\n        "name": "get_weather",\n'
    '        "description": "Weather in a city.",\n        "parameters": {\n'
    '            "type": "object",\n            "properties": {\n'
    '                "city": {\n                    "type": "string"\n                }\n'
    '            },\n            "required": [\n                "city"\n            ]\n'
    '        }\n    }\n}\n\n'
    "Weather in Paris?<|eot_id|>")
L31_TOOLS = L3_SYS + "Environment: ipython\n" + DATES + "<|eot_id|>" + L31_TOOLS_USER

L4_SYS = "<|begin_of_text|><|header_start|>system<|header_end|>\n\n"
L4_USER = "<|header_start|>user<|header_end|>\n\n"
L4_ASSISTANT = "<|header_start|>assistant<|header_end|>\n\n"
# Meta's Llama 4 "zero shot function calling - system message" prompt (models/llama4/
# prompt_format.md in meta-llama/llama-models as of f3d16d7, 2025-05-07: the list follows
# "...that you can invoke:\n" and closes the turn), with our WEATHER function in its list.
L4_TOOLS_SYSTEM = (
    "You are a helpful assistant and an expert in function composition. You can answer general "
    "questions using your internal knowledge OR invoke functions when necessary. Follow these "
    "strict guidelines:\n\n1. FUNCTION CALLS:\n"
    "- ONLY use functions that are EXPLICITLY listed in the function list below\n"
    "- If NO functions are listed (empty function list []), respond ONLY with internal knowledge "
    "or \"I don't have access to [Unavailable service] information\"\n"
    "- If a function is not in the list, respond ONLY with internal knowledge or \"I don't have "
    "access to [Unavailable service] information\"\n"
    "- If ALL required parameters are present AND the query EXACTLY matches a listed function's "
    "purpose: output ONLY the function call(s)\n"
    "- Use exact format: [func_name1(param1=value1, param2=value2), func_name2(...)]\n"
    "Examples:\n"
    "CORRECT: [get_weather(location=\"Vancouver\"), calculate_route(start=\"Boston\", "
    "end=\"New York\")] <- Only if get_weather and calculate_route are in function list\n"
    "INCORRECT: get_weather(location=\"New York\")\n"
    "INCORRECT: Let me check the weather: [get_weather(location=\"New York\")]\n"
    "INCORRECT: [get_events(location=\"Singapore\")] <- If function not in list\n\n"
    "2. RESPONSE RULES:\n"
    "- For pure function requests matching a listed function: ONLY output the function call(s)\n"
    "- For knowledge questions: ONLY output text\n"
    "- For missing parameters: ONLY request the specific missing parameters\n"
    "- For unavailable services (not in function list): output ONLY with internal knowledge or "
    "\"I don't have access to [Unavailable service] information\". Do NOT execute a function "
    "call.\n"
    "- If the query asks for information beyond what a listed function provides: output ONLY "
    "with internal knowledge about your limitations\n"
    "- NEVER combine text and function calls in the same response\n"
    "- NEVER suggest alternative functions when the requested service is unavailable\n"
    "- NEVER create or invent new functions not listed below\n\n"
    "3. STRICT BOUNDARIES:\n"
    "- ONLY use functions from the list below - no exceptions\n"
    "- NEVER use a function as an alternative to unavailable information\n"
    "- NEVER call functions not present in the function list\n"
    "- NEVER add explanatory text to function calls\n"
    "- NEVER respond with empty brackets\n"
    "- Use proper Python/JSON syntax for function calls\n"
    "- Check the function list carefully before responding\n\n"
    "4. TOOL RESPONSE HANDLING:\n"
    "- When receiving tool responses: provide concise, natural language responses\n"
    "- Don't repeat tool response verbatim\n"
    "- Don't add supplementary information\n\n"
    "Here is a list of functions in JSON format that you can invoke:\n"
    '[\n    {\n        "name": "get_weather",\n        "description": "Weather in a city.",\n'
    '        "parameters": {\n            "type": "object",\n            "properties": {\n'
    '                "city": {\n                    "type": "string"\n                }\n'
    '            },\n            "required": [\n                "city"\n            ]\n'
    '        }\n    }\n]<|eot|>')
L4_TOOLS = L4_SYS + L4_TOOLS_SYSTEM + L4_USER + "Weather in Paris?<|eot|>"

GOLDEN = {
    ("generate.jinja", "single"): "Hello!",
    ("generate.jinja", "system"): "You are terse.Hi",
    ("generate.jinja", "multi"): "You are terse.HiHello.Bye",
    # Qwen (1.x) Chat: ChatML with Qwen's default system turn (QWen's make_context)
    ("chatml.jinja", "single"):
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    ("chatml.jinja", "system"):
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\n",
    ("chatml.jinja", "multi"):
        "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
        "<|im_start|>assistant\n",
    # Llama-2 Chat: Meta's [INST] / <<SYS>> format
    ("llama-2.jinja", "single"): "<s>[INST] Hello! [/INST]",
    ("llama-2.jinja", "system"): "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST]",
    ("llama-2.jinja", "multi"):
        "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi [/INST] Hello. </s>"
        "<s>[INST] Bye [/INST]",
    # Llama-3 Instruct (Meta-Llama-3-8B-Instruct): no date lines before 3.1
    ("llama-3.jinja", "single"):
        "<|begin_of_text|>" + L3_USER + "Hello!<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.jinja", "system"):
        L3_SYS + "You are terse.<|eot_id|>" + L3_USER + "Hi<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.jinja", "multi"):
        L3_SYS + "You are terse.<|eot_id|>" + L3_USER + "Hi<|eot_id|>" + L3_ASSISTANT
        + "Hello.<|eot_id|>" + L3_USER + "Bye<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "single"):
        L3_SYS + DATES + "<|eot_id|>" + L3_USER + "Hello!<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "system"):
        L3_SYS + DATES + "You are terse.<|eot_id|>" + L3_USER + "Hi<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "multi"):
        L3_SYS + DATES + "You are terse.<|eot_id|>" + L3_USER + "Hi<|eot_id|>"
        + L3_ASSISTANT + "Hello.<|eot_id|>" + L3_USER + "Bye<|eot_id|>" + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "tools"): L31_TOOLS + L3_ASSISTANT,
    ("llama-3.1-json-tools.jinja", "tool_result"):
        L31_TOOLS
        + L3_ASSISTANT + '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>'
        + "<|start_header_id|>ipython<|end_header_id|>\n\n" + '{"temp": 21}<|eot_id|>'
        + L3_ASSISTANT,
    # Baichuan2 Chat: build_chat_input of its generation_utils.py (system text first)
    ("baichuan2.jinja", "single"): "<reserved_106>Hello!<reserved_107>",
    ("baichuan2.jinja", "system"): "You are terse.<reserved_106>Hi<reserved_107>",
    ("baichuan2.jinja", "multi"):
        "You are terse.<reserved_106>Hi<reserved_107>Hello.<reserved_106>Bye<reserved_107>",
    # Hunyuan Large Instruct: Tencent's template (no second <|startoftext|> after a system turn)
    ("hunyuan.jinja", "single"): "<|startoftext|>Hello!<|extra_0|>",
    ("hunyuan.jinja", "system"): "<|startoftext|>You are terse.<|extra_4|>Hi<|extra_0|>",
    ("hunyuan.jinja", "multi"):
        "<|startoftext|>You are terse.<|extra_4|>Hi<|extra_0|>Hello.<|eos|>"
        "<|startoftext|>Bye<|extra_0|>",
    # Llama 4 Instruct: Meta's Llama 4 format; pythonic calls; tool results in ipython + <|eom|>
    ("llama-4-pythonic-tools.jinja", "single"):
        "<|begin_of_text|>" + L4_USER + "Hello!<|eot|>" + L4_ASSISTANT,
    ("llama-4-pythonic-tools.jinja", "system"):
        L4_SYS + "You are terse.<|eot|>" + L4_USER + "Hi<|eot|>" + L4_ASSISTANT,
    ("llama-4-pythonic-tools.jinja", "multi"):
        L4_SYS + "You are terse.<|eot|>" + L4_USER + "Hi<|eot|>" + L4_ASSISTANT + "Hello.<|eot|>"
        + L4_USER + "Bye<|eot|>" + L4_ASSISTANT,
    ("llama-4-pythonic-tools.jinja", "tools"): L4_TOOLS + L4_ASSISTANT,
    ("llama-4-pythonic-tools.jinja", "tool_result"):
        # an assistant turn with calls ends in <|eom|>, as Meta's chat_format.py encodes it
        L4_TOOLS + L4_ASSISTANT + '[get_weather(city="Paris")]<|eom|>'
        + "<|header_start|>ipython<|header_end|>\n\n" + '{"temp": 21}<|eom|>' + L4_ASSISTANT,
    ("shennong.jinja", "single"): "User: Hello!\nAssistant:",
    ("shennong.jinja", "system"): "You are terse.\n\nUser: Hi\nAssistant:",
    ("shennong.jinja", "multi"):
        "You are terse.\n\nUser: Hi\nAssistant: Hello.</s>\nUser: Bye\nAssistant:",
}
CASES = {"single": (SINGLE, {}), "system": (SYSTEM, {}), "multi": (MULTI, {}),
         "tools": (TOOL_TURNS[:1], {"tools": [WEATHER]}),
         "tool_result": (TOOL_TURNS, {"tools": [WEATHER]})}
GOLDEN.update({("internlm2-tools.jinja", case): text for case, text in goldens.INTERNLM2.items()})
GOLDEN.update({("mistral-tools.jinja", case): goldens.mistral_reference(messages, **extra)
               for case, (messages, extra) in CASES.items()})


@pytest.mark.parametrize("template, case", sorted(GOLDEN), ids=lambda v: str(v))
def test_golden_prompt(template, case):
    messages, extra = CASES[case]
    assert render(template, messages, **extra) == GOLDEN[(template, case)]


def test_every_catalog_template_has_goldens_and_tool_families_a_tool_golden():
    for family in families.catalog():
        if family.template:
            for case in ("single", "system", "multi"):
                assert (family.template, case) in GOLDEN, (family.family, case)
            if family.tool_call_parser:
                for case in ("tools", "tool_result"):
                    assert (family.template, case) in GOLDEN, (family.family, case)


def test_llama_vision_images_have_no_system_turn():
    """Meta's Llama-3.2 Vision template: a prompt with an image starts at the user turn."""
    messages = [{"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": "Describe it."}]}]
    assert render("llama-3.1-json-tools.jinja", messages) == (
        "<|begin_of_text|>" + L3_USER + "<|image|>Describe it.<|eot_id|>" + L3_ASSISTANT)
    image_url = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
        {"type": "text", "text": "Describe it."}]}]
    assert render("llama-3.1-json-tools.jinja", image_url) == render(
        "llama-3.1-json-tools.jinja", messages)


def test_llama_vision_refuses_a_system_message_with_images():
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "?"}]}]
    with pytest.raises(ValueError, match="incompatible with system messages"):
        render("llama-3.1-json-tools.jinja", messages)


def test_llama_date_defaults_to_metas_or_today():
    source = (families.TEMPLATES_DIR / "llama-3.1-json-tools.jinja").read_text()
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    plain = env.from_string(source).render(messages=SINGLE, bos_token="")
    assert "Today Date: 26 Jul 2024\n" in plain
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template(conversations=[SINGLE], chat_template=source)
    import datetime

    assert f"Today Date: {datetime.date.today().strftime('%d %b %Y')}\n" in rendered[0]


def test_llama_tool_call_arguments_given_as_an_object():
    turns = [TOOL_TURNS[0], {"role": "assistant", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}]
    rendered = render("llama-3.1-json-tools.jinja", turns, add_generation_prompt=False)
    assert rendered.endswith(
        L3_ASSISTANT + '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>')


def test_llama_4_system_text_comes_before_the_tool_instructions():
    messages = [{"role": "system", "content": "You are terse."}, TOOL_TURNS[0]]
    assert render("llama-4-pythonic-tools.jinja", messages, tools=[WEATHER]) == (
        L4_SYS + "You are terse.\n\n" + L4_TOOLS_SYSTEM + L4_USER + "Weather in Paris?<|eot|>"
        + L4_ASSISTANT)


def test_llama_4_calls_are_python_literals():
    """What llama4_pythonic reads back: strings quoted, True/False/None, numbers bare."""
    turns = [TOOL_TURNS[0], {"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "f", "arguments": {"a": "x \"y\"", "b": True, "c": None, "d": 2.5}}},
        {"function": {"name": "g", "arguments": {}}}]}]
    rendered = render("llama-4-pythonic-tools.jinja", turns, add_generation_prompt=False)
    assert rendered.endswith(
        L4_ASSISTANT + '[f(a="x \\"y\\"", b=True, c=None, d=2.5), g()]<|eom|>')


def test_llama_4_image_parts_are_image_tokens():
    messages = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
        {"type": "text", "text": "Describe it."}]}]
    assert render("llama-4-pythonic-tools.jinja", messages) == (
        "<|begin_of_text|>" + L4_USER + "<|image|>Describe it.<|eot|>" + L4_ASSISTANT)


def test_llama_2_refuses_turns_out_of_order():
    with pytest.raises(ValueError, match="alternate"):
        render("llama-2.jinja", [{"role": "assistant", "content": "Hi"}])


def test_transformers_renders_the_same():
    """vLLM renders through transformers: its environment must give the golden strings too."""
    from transformers.utils.chat_template_utils import render_jinja_template

    for template in ("llama-3.1-json-tools.jinja", "llama-4-pythonic-tools.jinja", "chatml.jinja",
                     "internlm2-tools.jinja", "mistral-tools.jinja"):
        source = (families.TEMPLATES_DIR / template).read_text()
        messages, extra = CASES["tool_result" if "tools" in template else "multi"]
        rendered, _ = render_jinja_template(
            conversations=[as_vllm_passes(messages)], chat_template=source,
            add_generation_prompt=True,
            **SPECIAL.get(template, {}), **extra)
        assert rendered[0] == render(template, messages, **extra)


def test_mistral_call_ids_are_the_last_nine_characters_as_mistral_wants():
    turns = [TOOL_TURNS[0], {**TOOL_TURNS[1], "tool_calls": [
        {**TOOL_TURNS[1]["tool_calls"][0], "id": "chatcmpl-tool-0123456789abcdef"}]},
             {**TOOL_TURNS[2], "tool_call_id": "chatcmpl-tool-0123456789abcdef"}]
    rendered = render("mistral-tools.jinja", turns)
    assert rendered.count('"789abcdef"') == 2 and "chatcmpl" not in rendered


def test_mistral_plain_text_result_is_a_json_string():
    turns = [*TOOL_TURNS[:2], {**TOOL_TURNS[2], "content": "21 degrees"}]
    rendered = render("mistral-tools.jinja", turns)
    assert rendered == goldens.mistral_reference(turns)
    assert rendered.endswith('{"content": "21 degrees", "call_id": "call_1"}[/TOOL_RESULTS]')

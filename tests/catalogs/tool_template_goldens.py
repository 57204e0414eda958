"""Goldens of the InternLM2 and Mistral tool templates (merged into test_chat_templates.GOLDEN).

InternLM2: written from InternLM's published chat format (chat/chat_format.md in
InternLM/InternLM, "Function Call"). Mistral: the text of mistral-common's own encoder
(InstructTokenizerV3, Mistral-7B-Instruct-v0.3's), rendered here from the same messages, with
sentencepiece's word marks turned back into spaces; mistral-common wants 9-character call ids,
so it is given one and the cases' id is put back.
"""

from __future__ import annotations

import json

IM_SYSTEM = "<s><|im_start|>system\nYou are terse.<|im_end|>\n"
IM_USER = "<|im_start|>user\n{}<|im_end|>\n"
IM_ASSISTANT = "<|im_start|>assistant\n"
PLUGIN_SYSTEM = (
    "<|im_start|>system name=<|plugin|>\n"
    '[\n    {\n        "name": "get_weather",\n        "description": "Weather in a city.",\n'
    '        "parameters": {\n            "type": "object",\n            "properties": {\n'
    '                "city": {\n                    "type": "string"\n                }\n'
    '            },\n            "required": [\n                "city"\n            ]\n'
    "        }\n    }\n]\n<|im_end|>\n")
INTERNLM_CALL = ('<|action_start|><|plugin|>\n{"name": "get_weather", "parameters": '
                 '{"city": "Paris"}}<|action_end|><|im_end|>\n')
INTERNLM2 = {
    "single": "<s>" + IM_USER.format("Hello!") + IM_ASSISTANT,
    "system": IM_SYSTEM + IM_USER.format("Hi") + IM_ASSISTANT,
    "multi": IM_SYSTEM + IM_USER.format("Hi") + IM_ASSISTANT + "Hello.<|im_end|>\n"
             + IM_USER.format("Bye") + IM_ASSISTANT,
    "tools": "<s>" + PLUGIN_SYSTEM + IM_USER.format("Weather in Paris?") + IM_ASSISTANT,
    "tool_result": "<s>" + PLUGIN_SYSTEM + IM_USER.format("Weather in Paris?") + IM_ASSISTANT
                   + INTERNLM_CALL + '<|im_start|>environment name=<|plugin|>\n{"temp": 21}'
                   "<|im_end|>\n" + IM_ASSISTANT,
}
MISTRAL_ID = "abcdefghi"


def mistral_reference(messages: list[dict], tools: list[dict] | None = None) -> str:
    """mistral-common's v3 rendering of OpenAI-style messages, as text."""
    from mistral_common.protocol.instruct.messages import (
        AssistantMessage,
        SystemMessage,
        ToolMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.protocol.instruct.tool_calls import Function, FunctionCall, Tool, ToolCall
    from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    ids = {}
    converted = []
    for message in messages:
        role, content = message["role"], message.get("content")
        if role == "system":
            converted.append(SystemMessage(content=content))
        elif role == "user":
            converted.append(UserMessage(content=content))
        elif role == "tool":
            converted.append(ToolMessage(content=content, tool_call_id=MISTRAL_ID))
        elif message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                ids[MISTRAL_ID] = call["id"]
                calls.append(ToolCall(id=MISTRAL_ID, function=FunctionCall(
                    name=call["function"]["name"], arguments=call["function"]["arguments"])))
            converted.append(AssistantMessage(tool_calls=calls))
        else:
            converted.append(AssistantMessage(content=content))
    request = ChatCompletionRequest(messages=converted, tools=[
        Tool(function=Function(**tool["function"])) for tool in tools or []] or None)
    tokenizer = MistralTokenizer.v3()
    tokens = tokenizer.encode_chat_completion(request).tokens
    text = tokenizer.decode(tokens, special_token_policy=SpecialTokenPolicy.KEEP)
    text = text.replace("▁", " ").replace("<0x0A>", "\n")
    for placeholder, original in ids.items():
        text = text.replace(json.dumps(placeholder), json.dumps(original))
    return text

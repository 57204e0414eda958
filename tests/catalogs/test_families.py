"""The template catalog: every rule, their order, every source, and what reaches the plan."""

from __future__ import annotations

import ast
import json
from importlib import util
from pathlib import Path

import pytest

from entrypoint.catalogs import families
from entrypoint.cli import make_plan
from entrypoint.facts.hardware import NO_GPU
from entrypoint.facts.model_dir import read_model_dir
from entrypoint.settings.vllm_options import DATA_DIR
from tests.conftest import run_cli, write_model_dir

# Families are matched for every catalog row, including rows whose architecture the engine cannot
# load (Llama-3.2 Vision, Baichuan2, Qwen 1.x): in-process plans here skip the architecture gate
# (tests/rules/test_architecture.py covers it).
pytestmark = pytest.mark.usefixtures("without_architecture_gate")

# --- MODEL_ID rules, in the issue's order, plus today's families -----------------------------

MODEL_IDS = [
    ("tencent/Tencent-Hunyuan-Large", "hunyuan"),
    ("tencent/Hunyuan-Large-Instruct", "hunyuan"),
    ("acme/Shennong-Finance-13B", "shennong_chat"),
    ("acme/sn-law-7b", "shennong_chat"),
    ("meta-llama/Llama-3.2-11B-Vision-Instruct", "llama-3.2-vision"),
    ("meta-llama/Llama-3.2-90B-Vision-Instruct", "llama-3.2-vision"),
    ("meta-llama/Llama-3.2-3B-Instruct", "llama-3.2"),
    ("meta-llama/Llama-3.2-1B-Instruct", "llama-3.2"),
    ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1"),
    ("meta-llama/Meta-Llama-3.1-70B-Instruct", "llama-3.1"),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5"),
    ("Qwen/Qwen2.5-72B-Chat", "qwen2.5"),
    ("baichuan-inc/Baichuan2-13B-Chat", "baichuan2-chat"),
    ("meta-llama/Llama-2-7b-chat-hf", "llama-2"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "llama-3"),
    ("Qwen/Qwen-7B-Chat", "qwen"),
    ("Qwen/Qwen1.5-14B-Chat", "qwen"),
    # today's families
    ("Qwen/Qwen3-8B", "qwen3"),
    ("Qwen/Qwen3-235B-A22B-Instruct-2507", "qwen3"),
    ("Qwen/Qwen3-Coder-30B-A3B-Instruct", "qwen3-coder"),
    ("Qwen/Qwen2.5-Coder-7B-Instruct", "qwen2.5-coder"),
    ("Qwen/QwQ-32B", "qwq"),
    ("deepseek-ai/DeepSeek-R1", "deepseek-r1"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseek-r1"),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "deepseek-r1"),
    ("deepseek-ai/DeepSeek-V3-0324", "deepseek-v3"),
    ("deepseek-ai/DeepSeek-V3.1", "deepseek-v3.1"),
    ("zai-org/GLM-4.5-Air", "glm-4.5"),
    ("zai-org/GLM-4.6", "glm-4.5"),
    ("zai-org/GLM-4.7", "glm-4.7"),
    ("THUDM/glm-4-9b-chat", "glm-4"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistral"),
    ("internlm/internlm2_5-7b-chat", "internlm2"),
    ("internlm/internlm2-chat-7b", "internlm2"),
    ("internlm/internlm3-8b-instruct", "internlm2"),
    ("meta-llama/Llama-4-Scout-17B-16E-Instruct", "llama-4"),
    ("openai/gpt-oss-20b", "gpt-oss"),
    # no rule
    ("meta-llama/Llama-3.2-3B", None),  # base model: no instruct/chat
    ("meta-llama/Meta-Llama-3-8B", None),
    ("Qwen/Qwen-VL-Chat", None),
    ("google/gemma-2-9b-it", None),
]


@pytest.mark.parametrize("model_id, expected", MODEL_IDS)
def test_model_id_rules(model_id, expected):
    hit = families.by_model_id(model_id)
    assert (hit[0].name if hit else None) == expected


@pytest.mark.parametrize("model_id", ["meta-llama/Llama-3.2-11B-Vision-Instruct",
                                      "META-LLAMA/LLAMA-3.2-11B-VISION-INSTRUCT",
                                      "llama-3.2-11b-vision-chat"])
def test_vision_id_lands_on_vision_not_on_3_2_or_3_1(model_id):
    family, reason = families.by_model_id(model_id)
    assert family.name == "llama-3.2-vision"
    word = "chat" if "chat" in model_id else "instruct"
    assert reason == f"contains llama-3.2 and vision and {word}"


@pytest.mark.parametrize("model_id", ["QWEN/QWEN2.5-7B-INSTRUCT", "qwen/qwen2.5-7b-instruct",
                                      "Qwen/Qwen2.5-7B-Instruct"])
def test_model_id_ignores_case(model_id):
    assert families.by_model_id(model_id)[0].name == "qwen2.5"


def test_reason_names_the_terms():
    _, reason = families.by_model_id("meta-llama/Llama-3.2-3B-Instruct")
    assert reason == "contains llama-3.2 and instruct, not vision"


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


# --- the plan: sources, reasons, user flags win, stop tokens ----------------------------------

QWEN25_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 3584,
    "intermediate_size": 18944, "num_attention_heads": 28, "num_key_value_heads": 4,
    "num_hidden_layers": 28, "max_position_embeddings": 32768, "vocab_size": 152064,
    "bos_token_id": 151643, "eos_token_id": 151645, "rope_theta": 1000000.0,
    "sliding_window": 131072, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}
QWEN25_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\\n' }}# Tools\\n<tools>{% for tool in tools %}"
    "{{ tool | tojson }}{% endfor %}</tools>\\nFor each function call, return a json object "
    "within <tool_call></tool_call> XML tags{% endif %}{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def plan_for(model_dir, argv=(), env=None):
    plan, _ = make_plan([str(model_dir), *argv], env or {}, inventory=NO_GPU)
    return plan


def flag_value(plan, flag):
    if flag not in plan.argv:
        return None
    index = plan.argv.index(flag)
    following = plan.argv[index + 1] if index + 1 < len(plan.argv) else ""
    return True if following.startswith("--") or not following else following


@pytest.fixture
def qwen25_dir(tmp_path):
    return write_model_dir(tmp_path / "model", QWEN25_CONFIG,
                           tokenizer_config={"chat_template": QWEN25_TEMPLATE},
                           generation_config={"eos_token_id": [151645, 151643]})


def test_model_id_plan_says_why(qwen25_dir):
    plan = plan_for(qwen25_dir, env={"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"})
    assert flag_value(plan, "--tool-call-parser") == "hermes"
    assert flag_value(plan, "--enable-auto-tool-choice") is True
    assert "--chat-template" not in plan.argv  # the model's own template is kept
    entry = plan.settings["conv_template"]
    assert (entry.value, entry.source) == ("qwen2.5", "env")
    assert entry.reason == ("Qwen2.5 Instruct: MODEL_ID Qwen/Qwen2.5-7B-Instruct contains qwen2.5 "
                            "and instruct")
    parser = plan.settings["tool_call_parser"]
    assert (parser.value, parser.source) == ("hermes", "env")
    assert "contains qwen2.5 and instruct" in parser.reason
    assert plan.settings["enable_auto_tool_choice"].value is True


def test_dry_run_json_carries_the_entries(qwen25_dir):
    result = run_cli("--dry-run", "--json", str(qwen25_dir),
                     env={"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct"})
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)["settings"]
    assert settings["tool_call_parser"]["value"] == "hermes"
    assert settings["enable_auto_tool_choice"]["source"] == "env"


@pytest.mark.parametrize("argv, flag, value", [
    (["--tool-call-parser", "qwen3_json"], "--tool-call-parser", "qwen3_json"),
    (["--no-enable-auto-tool-choice"], "--no-enable-auto-tool-choice", True),
    (["--chat-template", "/my/own.jinja"], "--chat-template", "/my/own.jinja"),
    (["--reasoning-parser", "qwen3"], "--reasoning-parser", "qwen3"),
])
def test_what_the_user_passes_wins(qwen25_dir, argv, flag, value):
    plan = plan_for(qwen25_dir, argv, env={"MODEL_ID": "Qwen/Qwen3-8B"})
    assert plan.argv.count(flag) == 1
    assert flag_value(plan, flag) == value
    assert plan.settings[flag.removeprefix("--").replace("-", "_")].source == "cli"
    if flag == "--no-enable-auto-tool-choice":
        assert "--enable-auto-tool-choice" not in plan.argv


def generation_configs(plan) -> list[str]:
    """The generated generation configs (the page's plan file is another file in plan.files)."""
    return [path for path in plan.files if path.endswith("/generation_config.json")]


def test_user_generation_config_wins_over_stop_tokens(qwen25_dir, tmp_path):
    plan = plan_for(qwen25_dir, ["--generation-config", "vllm"],
                    env={"MODEL_ID": "Qwen/Qwen-7B-Chat", "RUN_DIR": str(tmp_path / "run")})
    assert flag_value(plan, "--generation-config") == "vllm"
    assert not generation_configs(plan)


def test_conv_template_beats_model_id_and_forces_the_catalog_template(qwen25_dir):
    plan = plan_for(qwen25_dir, env={"MODEL_ID": "Qwen/Qwen2.5-7B-Instruct",
                                     "CONV_TEMPLATE": "llama-2"})
    assert flag_value(plan, "--chat-template").endswith("templates/llama-2.jinja")
    assert "--tool-call-parser" not in plan.argv
    assert plan.settings["conv_template"].reason == "Llama-2 Chat: CONV_TEMPLATE=llama-2"
    assert "replaces the model's own template" in plan.settings["chat_template"].reason


def test_unknown_conv_template_exits_2_listing_known(qwen25_dir):
    result = run_cli("--dry-run", str(qwen25_dir), env={"CONV_TEMPLATE": "vicuna"})
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.count("\n") == 0 and "Traceback" not in message
    assert "CONV_TEMPLATE='vicuna' is not a known conversation template" in message
    assert "qwen2.5" in message and "llama-3.2-vision" in message and "generate" in message


def test_stop_tokens_become_a_generation_config_folder(tmp_path):
    model = write_model_dir(tmp_path / "model", {**QWEN25_CONFIG, "eos_token_id": 151643},
                            generation_config={"eos_token_id": 151643, "top_p": 0.8})
    plan = plan_for(model, env={"MODEL_ID": "Qwen/Qwen-7B-Chat", "RUN_DIR": str(tmp_path / "run")})
    folder = flag_value(plan, "--generation-config")
    assert folder.startswith(str(tmp_path / "run") + "/generation-config-")
    written = json.loads(plan.files[f"{folder}/generation_config.json"])
    assert written == {"eos_token_id": [151643, 151644, 151645], "top_p": 0.8}
    reason = plan.settings["generation_config"].reason
    assert "stops at token ids 151643, 151644, 151645" in reason
    assert flag_value(plan, "--chat-template").endswith("templates/chatml.jinja")


def test_dry_run_lists_the_generated_file(tmp_path):
    model = write_model_dir(tmp_path / "model", {**QWEN25_CONFIG, "eos_token_id": 151643})
    result = run_cli("--dry-run", str(model), env={"MODEL_ID": "Qwen/Qwen-7B-Chat",
                                                   "RUN_DIR": str(tmp_path / "run")})
    assert result.returncode == 0, result.stderr
    assert "Files written before the start:" in result.stdout
    assert "/generation_config.json" in result.stdout
    assert not (tmp_path / "run").exists()  # a dry run writes nothing


def test_no_generation_config_when_the_model_already_stops(tmp_path):
    model = write_model_dir(tmp_path / "model", {**LLAMA3_CONFIG},
                            generation_config={"eos_token_id": [128001, 128009]})
    plan = plan_for(model, env={"MODEL_ID": "meta-llama/Meta-Llama-3-8B-Instruct"})
    assert "--generation-config" not in plan.argv and not generation_configs(plan)


def test_vision_family_adds_its_args_unless_the_user_set_them(tmp_path):
    model = write_model_dir(tmp_path / "model", MLLAMA_CONFIG)
    plan = plan_for(model, env={"MODEL_ID": "meta-llama/Llama-3.2-11B-Vision-Instruct"})
    assert "--enforce-eager" in plan.argv and flag_value(plan, "--max-num-seqs") == "8"
    assert plan.settings["enforce_eager"].source == "model"  # the family decided it
    assert flag_value(plan, "--tool-call-parser") == "llama3_json"
    plan = plan_for(model, ["--max-num-seqs", "2", "--no-enforce-eager"],
                    env={"MODEL_ID": "meta-llama/Llama-3.2-11B-Vision-Instruct"})
    assert flag_value(plan, "--max-num-seqs") == "2" and plan.argv.count("--max-num-seqs") == 1
    assert "--no-enforce-eager" in plan.argv and "--enforce-eager" not in plan.argv


def test_ti_model_config_is_the_third_source(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG,
                            ti_model_config={"model_id": "Qwen/Qwen2.5-7B-Instruct"})
    plan = plan_for(model)
    assert flag_value(plan, "--tool-call-parser") == "hermes"
    entry = plan.settings["conv_template"]
    assert entry.source == "model"
    assert entry.reason.endswith("ti_model_config.json model_id Qwen/Qwen2.5-7B-Instruct "
                                 "contains qwen2.5 and instruct")
    assert plan.settings["model_id"].value == "Qwen/Qwen2.5-7B-Instruct"
    # the environment comes first
    plan = plan_for(model, env={"MODEL_ID": "meta-llama/Meta-Llama-3-8B-Instruct"})
    assert plan.settings["conv_template"].value == "llama-3"


def test_ti_model_config_template_name(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG, ti_model_config={
        "model_id": "Qwen/Qwen2.5-7B-Instruct", "conv_template_name": "baichuan2-chat"})
    plan = plan_for(model)
    assert plan.settings["conv_template"].value == "baichuan2-chat"
    assert "ti_model_config.json conv_template_name=baichuan2-chat" in (
        plan.settings["conv_template"].reason)
    assert flag_value(plan, "--chat-template").endswith("templates/baichuan2.jinja")


def test_unknown_ti_template_name_warns_and_falls_through(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG, ti_model_config={
        "model_id": "Qwen/Qwen2.5-7B-Instruct", "conv_template_name": "vicuna_v1.1"})
    plan = plan_for(model)
    assert plan.settings["conv_template"].value == "qwen2.5"
    assert any("conv_template_name='vicuna_v1.1'" in w for w in plan.warnings)


def test_no_match_is_said_and_warned_when_chat_cannot_work(tmp_path):
    model = write_model_dir(tmp_path / "model", {"architectures": ["GPT2LMHeadModel"],
                                                 "model_type": "gpt2", "n_positions": 1024})
    plan = plan_for(model, env={"MODEL_ID": "openai-community/gpt2"})
    entry = plan.settings["conv_template"]
    assert entry.value is None
    assert entry.reason == ("no catalog family matched (MODEL_ID openai-community/gpt2; "
                            "ti_model_config.json; model dir: GPT2LMHeadModel): vLLM's defaults "
                            "apply")
    assert any("ships no chat template" in w and "CONV_TEMPLATE" in w for w in plan.warnings)
    assert "--chat-template" not in plan.argv and "--tool-call-parser" not in plan.argv


def test_generate_passes_text_through(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG)
    plan = plan_for(model, env={"CONV_TEMPLATE": "generate"})
    assert flag_value(plan, "--chat-template").endswith("templates/generate.jinja")


def test_chat_template_jinja_file_counts_as_the_models_own(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN25_CONFIG)
    (model / "chat_template.jinja").write_text(QWEN25_TEMPLATE)
    facts = read_model_dir(model)
    assert families.model_chat_template(facts) == QWEN25_TEMPLATE
    assert families.identify(facts).family.name == "qwen2.5"


# --- identification from the model dir alone (real-shaped configs) -----------------------------

LLAMA3_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
    "num_hidden_layers": 32, "max_position_embeddings": 8192, "vocab_size": 128256,
    "rope_theta": 500000.0, "bos_token_id": 128000, "eos_token_id": 128001,
    "torch_dtype": "bfloat16",
}
LLAMA3_TOKENIZER = {
    "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
    "added_tokens_decoder": {
        "128000": {"content": "<|begin_of_text|>", "special": True},
        "128001": {"content": "<|end_of_text|>", "special": True},
        "128006": {"content": "<|start_header_id|>", "special": True},
        "128007": {"content": "<|end_header_id|>", "special": True},
        "128009": {"content": "<|eot_id|>", "special": True},
    },
}
LLAMA31_CONFIG = {
    **LLAMA3_CONFIG, "max_position_embeddings": 131072, "eos_token_id": [128001, 128008, 128009],
    "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
}
LLAMA32_CONFIG = {**LLAMA31_CONFIG, "hidden_size": 3072, "intermediate_size": 8192,
                  "num_attention_heads": 24, "num_hidden_layers": 28, "head_dim": 128,
                  "tie_word_embeddings": True}
MLLAMA_CONFIG = {
    "architectures": ["MllamaForConditionalGeneration"], "model_type": "mllama",
    "text_config": {"model_type": "mllama_text_model", "hidden_size": 4096,
                    "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": 40,
                    "max_position_embeddings": 131072, "vocab_size": 128256,
                    "eos_token_id": [128001, 128008, 128009],
                    "rope_scaling": {"factor": 8.0, "rope_type": "llama3"}},
    "vision_config": {"model_type": "mllama_vision_model", "image_size": 560},
}
LLAMA2_CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
    "intermediate_size": 11008, "num_attention_heads": 32, "num_key_value_heads": 32,
    "num_hidden_layers": 32, "max_position_embeddings": 4096, "vocab_size": 32000,
    "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16",
}
LLAMA2_TEMPLATE = ("{% for message in messages %}{% if message['role'] == 'user' %}"
                   "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}"
                   "{% endfor %}")
BAICHUAN2_CONFIG = {
    "architectures": ["BaichuanForCausalLM"], "model_type": "baichuan", "hidden_size": 5120,
    "intermediate_size": 13696, "num_attention_heads": 40, "num_hidden_layers": 40,
    "model_max_length": 4096, "vocab_size": 125696, "bos_token_id": 1, "eos_token_id": 2,
    "auto_map": {"AutoConfig": "configuration_baichuan.BaichuanConfig"},
}
BAICHUAN2_GENERATION = {"user_token_id": 195, "assistant_token_id": 196, "eos_token_id": 2,
                        "max_new_tokens": 2048, "top_p": 0.85, "temperature": 0.3}
HUNYUAN_LARGE_CONFIG = {
    "architectures": ["HunYuanForCausalLM"], "model_type": "hunyuan", "hidden_size": 6400,
    "intermediate_size": 18304, "num_attention_heads": 80, "num_key_value_heads": 8,
    "num_hidden_layers": 64, "max_position_embeddings": 131072, "vocab_size": 129024,
    "num_experts": 16, "moe_topk": 1, "use_mixed_mlp_moe": True, "eos_token_id": 127960,
}
QWEN1_CONFIG = {
    "architectures": ["QWenLMHeadModel"], "model_type": "qwen", "hidden_size": 4096,
    "intermediate_size": 22016, "num_attention_heads": 32, "num_hidden_layers": 32,
    "seq_length": 8192, "vocab_size": 151936,
    "auto_map": {"AutoModelForCausalLM": "modeling_qwen.QWenLMHeadModel"},
}
QWEN3_CONFIG = {
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 4096,
    "intermediate_size": 12288, "num_attention_heads": 32, "num_key_value_heads": 8,
    "head_dim": 128, "num_hidden_layers": 36, "max_position_embeddings": 40960,
    "vocab_size": 151936, "eos_token_id": 151645,
}
QWEN3_MOE_CODER = {**QWEN3_CONFIG, "architectures": ["Qwen3MoeForCausalLM"],
                   "model_type": "qwen3_moe", "num_experts": 128, "num_experts_per_tok": 8}
CODER_TEMPLATE = "<tool_call>\n<function={{ tool_call.name }}>\n<parameter=x>"
QWQ_TEMPLATE = "<|im_start|>assistant\n<think>\n{%- if tools %}<tool_call>{% endif %}"
R1_TEMPLATE = "{{ bos_token }}<｜User｜>{{ m }}<｜Assistant｜><think>\n"
DEEPSEEK_V3_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "hidden_size": 7168,
    "num_attention_heads": 128, "num_hidden_layers": 61, "n_routed_experts": 256,
    "max_position_embeddings": 163840, "vocab_size": 129280, "kv_lora_rank": 512,
}
GLM45_CONFIG = {"architectures": ["Glm4MoeForCausalLM"], "model_type": "glm4_moe",
                "hidden_size": 4096, "num_attention_heads": 96, "num_hidden_layers": 46,
                "n_routed_experts": 128, "vocab_size": 151552,
                "eos_token_id": [151329, 151336, 151338]}
GLM4_CONFIG = {"architectures": ["Glm4ForCausalLM"], "model_type": "glm4", "hidden_size": 6144,
               "num_attention_heads": 48, "num_hidden_layers": 61, "vocab_size": 151552}
CHATGLM_CONFIG = {"architectures": ["ChatGLMModel"], "model_type": "chatglm",
                  "hidden_size": 4096, "num_layers": 40, "padded_vocab_size": 151552,
                  "seq_length": 131072}
MISTRAL_CONFIG = {"architectures": ["MistralForCausalLM"], "model_type": "mistral",
                  "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
                  "num_hidden_layers": 32, "max_position_embeddings": 32768, "vocab_size": 32768}
MISTRAL_TEMPLATE = "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]"
MIXTRAL_CONFIG = {**MISTRAL_CONFIG, "architectures": ["MixtralForCausalLM"],
                  "model_type": "mixtral", "num_local_experts": 8, "vocab_size": 32000}
INTERNLM2_CONFIG = {"architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2",
                    "hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 32,
                    "vocab_size": 92544, "max_position_embeddings": 32768}
INTERNLM3_CONFIG = {**INTERNLM2_CONFIG, "architectures": ["InternLM3ForCausalLM"],
                    "model_type": "internlm3", "vocab_size": 128512}
LLAMA4_CONFIG = {"architectures": ["Llama4ForConditionalGeneration"], "model_type": "llama4",
                 "text_config": {"model_type": "llama4_text", "hidden_size": 5120,
                                 "num_attention_heads": 40, "num_hidden_layers": 48,
                                 "num_local_experts": 16, "vocab_size": 202048}}
GPT_OSS_CONFIG = {"architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss",
                  "hidden_size": 2880, "num_attention_heads": 64, "num_hidden_layers": 24,
                  "num_local_experts": 32, "vocab_size": 201088}

IDENTIFIED = [
    ("hunyuan-large", HUNYUAN_LARGE_CONFIG, {}, "hunyuan"),
    ("llama-3.2-vision", MLLAMA_CONFIG, {"generation_config": {"eos_token_id": [128001, 128008,
                                                                                128009]}},
     "llama-3.2-vision"),
    ("llama-3.2", LLAMA32_CONFIG, {"tokenizer_config": LLAMA3_TOKENIZER}, "llama-3.2"),
    ("llama-3.1", LLAMA31_CONFIG, {"tokenizer_config": LLAMA3_TOKENIZER}, "llama-3.1"),
    ("llama-3", LLAMA3_CONFIG, {"tokenizer_config": LLAMA3_TOKENIZER}, "llama-3"),
    ("llama-2", LLAMA2_CONFIG, {"tokenizer_config": {"chat_template": LLAMA2_TEMPLATE}},
     "llama-2"),
    ("baichuan2", BAICHUAN2_CONFIG, {"generation_config": BAICHUAN2_GENERATION},
     "baichuan2-chat"),
    ("qwen1", QWEN1_CONFIG, {}, "qwen"),
    ("qwen2.5", QWEN25_CONFIG, {"tokenizer_config": {"chat_template": QWEN25_TEMPLATE}},
     "qwen2.5"),
    ("qwq", QWEN25_CONFIG, {"tokenizer_config": {"chat_template": QWQ_TEMPLATE}}, "qwq"),
    ("r1-distill-qwen", QWEN25_CONFIG, {"tokenizer_config": {"chat_template": R1_TEMPLATE}},
     "deepseek-r1"),
    ("r1", DEEPSEEK_V3_CONFIG, {"tokenizer_config": {"chat_template": R1_TEMPLATE}},
     "deepseek-r1"),
    ("deepseek-v3", DEEPSEEK_V3_CONFIG, {}, "deepseek-v3"),
    ("qwen3", QWEN3_CONFIG, {}, "qwen3"),
    ("qwen3-coder", QWEN3_MOE_CODER, {"tokenizer_config": {"chat_template": CODER_TEMPLATE}},
     "qwen3-coder"),
    ("glm-4.5", GLM45_CONFIG, {}, "glm-4.5"),
    ("glm-4-0414", GLM4_CONFIG, {}, "glm-4"),
    ("glm-4-9b-chat", CHATGLM_CONFIG, {}, "glm-4"),
    ("mistral", MISTRAL_CONFIG, {"tokenizer_config": {"chat_template": MISTRAL_TEMPLATE}},
     "mistral"),
    ("mixtral", MIXTRAL_CONFIG, {"tokenizer_config": {"chat_template": MISTRAL_TEMPLATE}},
     "mistral"),
    ("internlm2", INTERNLM2_CONFIG, {}, "internlm2"),
    ("internlm3", INTERNLM3_CONFIG, {}, "internlm2"),
    ("llama-4", LLAMA4_CONFIG, {}, "llama-4"),
    ("gpt-oss", GPT_OSS_CONFIG, {}, "gpt-oss"),
    # model_type before architecture: DeepSeek-V3's architecture, Kimi's model_type
    ("kimi-k2", {**DEEPSEEK_V3_CONFIG, "model_type": "kimi_k2", "vocab_size": 163840}, {},
     "kimi-k2"),
    # not identified
    ("chatglm2-6b", {**CHATGLM_CONFIG, "num_layers": 28, "padded_vocab_size": 65024,
                     "seq_length": 32768}, {}, None),  # ChatGLMModel, but not GLM-4's vocabulary
    ("llama-3-base", LLAMA3_CONFIG, {}, None),
    ("llama-3.1-base", {**LLAMA31_CONFIG, "eos_token_id": 128001}, {}, None),
    ("mistral-base", MISTRAL_CONFIG, {}, None),
    ("gpt2", {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}, {}, None),
]


@pytest.mark.parametrize("label, config, files, expected", IDENTIFIED,
                         ids=[row[0] for row in IDENTIFIED])
def test_identified_from_the_model_dir_alone(tmp_path, label, config, files, expected):
    facts = read_model_dir(write_model_dir(tmp_path / "model", config, **files))
    match = families.identify(facts)
    assert (match.family.name if match else None) == expected
    if match:
        assert match.source == "model" and match.reason.startswith("model dir shows")


def test_name_or_path_is_matched_like_a_model_id(tmp_path):
    config = {**QWEN25_CONFIG, "_name_or_path": "/root/.cache/Qwen/Qwen2.5-Coder-7B-Instruct"}
    match = families.identify(read_model_dir(write_model_dir(tmp_path / "m", config)))
    assert match.family.name == "qwen2.5-coder"
    assert match.reason == ("config.json _name_or_path Qwen/Qwen2.5-Coder-7B-Instruct contains "
                            "qwen2.5 and coder and instruct")


def test_identified_family_keeps_the_models_own_template(tmp_path):
    model = write_model_dir(tmp_path / "model", LLAMA2_CONFIG,
                            tokenizer_config={"chat_template": LLAMA2_TEMPLATE})
    plan = plan_for(model)
    assert "--chat-template" not in plan.argv
    entry = plan.settings["conv_template"]
    assert entry.value == "llama-2" and entry.source == "model"
    assert entry.reason.endswith("the model's own chat template is kept over llama-2.jinja")


def test_identified_family_without_a_template_gets_the_catalogs(tmp_path):
    model = write_model_dir(tmp_path / "model", BAICHUAN2_CONFIG,
                            generation_config=BAICHUAN2_GENERATION)
    plan = plan_for(model)
    assert flag_value(plan, "--chat-template").endswith("templates/baichuan2.jinja")
    assert plan.settings["chat_template"].source == "model"


def test_families_table_in_docs_is_fresh():
    from entrypoint.devtools import docs

    text = docs.MODELS_DOC.read_text()
    assert docs.render_models_doc(text) == text, "docs/models.md is stale: run `make docs`"
    for family in families.catalog():
        assert f"| {family.family} |" in text


def test_unmatched_model_id_falls_through_to_the_model_dir(tmp_path):
    model = write_model_dir(tmp_path / "model", QWEN3_CONFIG)
    plan = plan_for(model, env={"MODEL_ID": "acme/support-bot-v2"})
    entry = plan.settings["conv_template"]
    assert (entry.value, entry.source) == ("qwen3", "model")
    assert flag_value(plan, "--reasoning-parser") == "qwen3"
    assert plan.settings["reasoning_parser"].source == "model"

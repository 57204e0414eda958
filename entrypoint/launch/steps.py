"""Perform the plan's steps before vLLM starts: downloads, LoRA merges, GGUF conversions, the
page-cache warm-up.

The steps are data (`entrypoint.plan.steps`); the effects, and the heavy imports they need
(huggingface_hub, torch, peft and transformers), live here and load only when a step runs.
"""

from __future__ import annotations

from entrypoint.plan.steps import (
    ConvertGguf,
    Download,
    GgufTokenizer,
    MergeLora,
    Step,
    WarmPageCache,
)


def perform(step: Step) -> None:
    """One step. A step that builds a folder looks for it again rather than trust the plan's
    `done`: another start sharing the cache may have finished it since."""
    if isinstance(step, Download):
        download(step)
    elif isinstance(step, MergeLora):
        merge(step)
    elif isinstance(step, ConvertGguf):
        convert_gguf(step)
    elif isinstance(step, GgufTokenizer):
        write_gguf_tokenizer(step)
    elif isinstance(step, WarmPageCache):
        from entrypoint.launch import page_cache

        page_cache.start(step)
    else:
        raise TypeError(f"not a launch step: {step!r}")


def download(step: Download) -> None:
    from entrypoint.facts.hub import Store

    print(f"run: {step.describe()} (resumes partial files)", flush=True)
    missing = step.missing
    store = Store(missing.ref.hub, str(missing.cache), step.environ, cache_is_root=True)
    store.snapshot(missing.ref, ignore=list(missing.skip))


def merge(step: MergeLora) -> None:
    if (step.out / "config.json").is_file():  # merged by an earlier start
        return
    from entrypoint.launch.merge_lora import merge as merge_adapter

    print(f"run: {step.describe()}", flush=True)
    merge_adapter(step.base, step.adapter, step.out)


def convert_gguf(step: ConvertGguf) -> None:
    from entrypoint.facts import gguf

    if gguf.is_converted(step.out):
        return
    from entrypoint.launch.gguf_convert import convert

    print(f"run: {step.describe()}", flush=True)
    convert(step.source, step.out)


def write_gguf_tokenizer(step: GgufTokenizer) -> None:
    from entrypoint.facts import gguf

    if gguf.has_tokenizer(step.out):
        return
    from entrypoint.launch.gguf_convert import write_tokenizer

    print(f"run: {step.describe()}", flush=True)
    write_tokenizer(step.source, step.out)

"""Models by hub id: Hugging Face (huggingface_hub) or ModelScope, into a persistent cache.

Planning fetches only the small config files of a snapshot (config.json, tokenizer files, the
safetensors index, adapter_config.json), so `--dry-run` can show the real plan and what the
weights download would bring (`Missing`). The weights come at launch (the plan's `Download`
step, performed by `entrypoint.launch.steps` through `Store.snapshot`): huggingface_hub resumes
partial files (`*.incomplete`) after an interrupted start and skips finished ones.

Everything is read from the environment mapping given to `run` (not the process globals that
huggingface_hub reads at import): HF_TOKEN (passed on, never printed), HF_ENDPOINT,
HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE (cache only), HF_HUB_CACHE / HF_HOME, MODELSCOPE_CACHE.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from entrypoint.errors import UserError
from entrypoint.facts.home import cache_home

HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?")
HUBS = {"huggingface": "Hugging Face", "modelscope": "ModelScope"}
CONFIG_PATTERNS = ["*.json", "tokenizer.model", "*.tiktoken", "*.txt", "*.jinja", "*.py"]
# Never needed by vLLM: other runtimes' weights and the consolidated copies Llama repos carry.
SKIP_PATTERNS = ["original/*", "*.pth", "*.msgpack", "*.h5", "*.onnx", "*.onnx_data", "*.gguf",
                 "*.ot", "*.tflite", "*.mlmodel"]
PYTORCH_BINS = ["*.bin", "*.pt"]  # skipped when the repo has safetensors
TRUE = {"1", "true", "yes", "on"}


def looks_like_hub_id(text: str) -> bool:
    return bool(HUB_ID.fullmatch(text)) and not text.startswith((".", "~"))


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str | None
    hub: str  # a key of HUBS

    @property
    def hub_name(self) -> str:
        return HUBS[self.hub]

    def __str__(self) -> str:
        return self.repo_id + (f"@{self.revision}" if self.revision else "")


def parse_ref(text: str, label: str, hub: str = "huggingface") -> HubRef:
    repo_id, _, revision = text.partition("@")
    return HubRef(repo_id=repo_id, revision=revision or None, hub=hub)


def is_offline(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name, "").strip().lower() in TRUE
               for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "MODELSCOPE_OFFLINE"))


def default_cache(hub: str, environ: Mapping[str, str]) -> Path:
    """Where the hub's own library would cache when CACHE_DIR is unset (same variables)."""
    xdg = cache_home(environ)
    if hub == "modelscope":
        return Path(environ.get("MODELSCOPE_CACHE") or xdg / "modelscope" / "hub")
    if environ.get("HF_HUB_CACHE"):
        return Path(environ["HF_HUB_CACHE"])
    return Path(environ.get("HF_HOME") or xdg / "huggingface") / "hub"


@dataclass(frozen=True)
class Missing:
    """What a snapshot still lacks in the cache (the weights): a plan's Download step fetches it."""

    ref: HubRef  # pinned to the commit the config files came from
    cache: Path
    files: int  # 0: not counted (ModelScope has no dry run)
    size: int | None  # bytes still to fetch, when the hub told us
    skip: tuple[str, ...]


@dataclass
class Store:
    """One hub and one cache folder; the only place that calls the hub libraries."""

    hub_name: str
    cache_dir: str | None
    environ: Mapping[str, str]
    cache_is_root: bool = False  # cache_dir is the hub cache itself, not CACHE_DIR

    @property
    def cache(self) -> Path:
        if self.cache_is_root:
            return Path(self.cache_dir)
        if self.cache_dir:
            sub = "hub" if self.hub_name == "huggingface" else "modelscope"
            return Path(self.cache_dir) / sub
        return default_cache(self.hub_name, self.environ)

    def fetch_configs(self, ref: HubRef) -> tuple[Path, Missing | None]:
        ref = HubRef(ref.repo_id, ref.revision, self.hub_name)
        folder = Path(self.snapshot(ref, allow=CONFIG_PATTERNS))
        pinned = HubRef(ref.repo_id, self.pinned_revision(folder, ref), ref.hub)
        missing = None if is_offline(self.environ) else self.missing(pinned)
        return folder, missing

    def pinned_revision(self, folder: Path, ref: HubRef) -> str | None:
        """The commit the config files came from, so the weights come from the same one."""
        if self.hub_name == "huggingface" and folder.parent.name == "snapshots":
            return folder.name
        return ref.revision

    def missing(self, ref: HubRef) -> Missing | None:
        if self.hub_name != "huggingface":  # ModelScope has no dry run: fetch what is missing
            return Missing(ref, self.cache, files=0, size=None, skip=tuple(SKIP_PATTERNS))
        listing = self.snapshot(ref, ignore=SKIP_PATTERNS, dry_run=True)
        skip = list(SKIP_PATTERNS)
        if any(f.filename.endswith(".safetensors") for f in listing):
            skip += PYTORCH_BINS
            listing = [f for f in listing if not f.filename.endswith((".bin", ".pt"))]
        missing = [f for f in listing if f.will_download]
        if not missing:
            return None
        size = sum(f.file_size or 0 for f in missing) or None
        return Missing(ref, self.cache, files=len(missing), size=size, skip=tuple(skip))

    def snapshot(self, ref: HubRef, allow=None, ignore=None, dry_run: bool = False):
        offline = is_offline(self.environ)
        try:
            if self.hub_name == "modelscope":
                return self._modelscope(ref, allow, ignore, offline)
            import huggingface_hub

            return huggingface_hub.snapshot_download(
                ref.repo_id, revision=ref.revision, cache_dir=self.cache,
                allow_patterns=allow, ignore_patterns=ignore, local_files_only=offline,
                token=self.environ.get("HF_TOKEN") or None,
                endpoint=self.environ.get("HF_ENDPOINT") or None, dry_run=dry_run,
            )
        except UserError:
            raise
        except Exception as error:  # noqa: BLE001 the hub libraries raise many kinds; each becomes a sentence
            raise UserError(self.explain(ref, error, offline)) from None

    def _modelscope(self, ref: HubRef, allow, ignore, offline: bool) -> str:
        try:
            from modelscope.hub.snapshot_download import snapshot_download
        except ImportError:
            raise UserError("MODEL_HUB=modelscope needs the modelscope package; install it"
                            " (pip install modelscope) or use MODEL_HUB=huggingface.") from None
        return snapshot_download(
            ref.repo_id, revision=ref.revision, cache_dir=str(self.cache), allow_patterns=allow,
            ignore_patterns=ignore, local_files_only=offline,
            token=self.environ.get("MODELSCOPE_API_TOKEN") or None,
        )

    def explain(self, ref: HubRef, error: Exception, offline: bool) -> str:
        kind = type(error).__name__
        where = f"{ref.hub_name} id {ref}"
        if offline:
            return (f"MODEL={ref} is not in the cache {self.cache} and offline mode is on"
                    " (HF_HUB_OFFLINE); download it there once with network access, or mount"
                    " the model and set MODEL to its folder.")
        status = getattr(getattr(error, "response", None), "status_code", None)
        if kind == "GatedRepoError" or status in (401, 403):
            return (f"{where} needs access rights: accept its licence on the hub and set HF_TOKEN"
                    " to a token of that account.")
        if kind == "RepositoryNotFoundError":
            return (f"{where} does not exist (or is private); check the spelling, or set HF_TOKEN"
                    " for a private model.")
        if kind == "RevisionNotFoundError":
            return f"{where}: revision {ref.revision} does not exist; fix the part after @."
        return (f"Cannot fetch {where} into {self.cache}: the hub is unreachable and the model is"
                f" not cached there ({kind}); allow network access, or mount the model and set"
                " MODEL to its folder.")


def user_cache_root(environ: Mapping[str, str]) -> Path:
    return cache_home(environ) / "llm-serve"


def writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)

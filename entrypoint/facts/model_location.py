"""Where the served model comes from: a local dir, a hub id, a training output, or LoRA adapters.

`locate` turns MODEL into the folder vLLM serves and the facts the rules need (read step). The
choices among what it finds are small pure functions over plain listings (`pick_from_listing`,
`lora_rank_choice`), tested with data. A hub id costs one small effect here: its config files are
fetched (or read from the cache when offline) so the plan can be made; the weights are fetched by
a launch step the rules plan from `hub.Missing`, so `--dry-run` only says what it would download.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from entrypoint.errors import UserError
from entrypoint.facts import gguf, hub, lora, page_cache
from entrypoint.facts.gguf_header import GgufHeader, read_header
from entrypoint.facts.model_dir import read_json

CHECKPOINT = re.compile(r"checkpoint-(\d+)")
# vLLM's --max-lora-rank choices (0.32 and 0.33: LoRAConfig.max_lora_rank).
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


@dataclass(frozen=True)
class Entry:
    """One sub-folder of a model dir, as far as choosing among them needs."""

    name: str
    is_model: bool  # holds config.json
    is_adapter: bool  # holds adapter_config.json


def pick_from_listing(where: str, entries: list[Entry]) -> tuple[str, str] | None:
    """Which sub-folder of a training output to serve, and why; None when none stands out.

    Training runs leave checkpoint-<step> folders: the highest step is the newest. Otherwise a
    folder with exactly one model (or adapter) inside is that model.
    """
    steps = [(int(m.group(1)), e.name) for e in entries if (m := CHECKPOINT.fullmatch(e.name))
             and (e.is_model or e.is_adapter)]
    if steps:
        step, name = max(steps)
        return name, f"newest training checkpoint in {where} (step {step} of {len(steps)} found)"
    models = [e.name for e in entries if e.is_model]
    if len(models) == 1 and not any(e.is_adapter for e in entries):
        return models[0], f"the only model folder inside {where}"
    return None


def lora_rank_choice(rank: int, where: str) -> int:
    """The smallest --max-lora-rank vLLM accepts that holds an adapter of rank `rank`."""
    for choice in LORA_RANKS:
        if rank <= choice:
            return choice
    raise UserError(f"LoRA adapter {where} has rank r={rank}, above the {LORA_RANKS[-1]} vLLM"
                    " supports; retrain with a smaller r, or set MERGE_LORA=true to serve it"
                    " merged into the base.")


@dataclass(frozen=True)
class Adapter:
    name: str
    path: Path
    rank: int
    base: str | None  # base_model_name_or_path as the adapter records it


@dataclass
class Located:
    """What `locate` found: the folder to serve and how it got there."""

    given: str  # MODEL as the user wrote it
    serve_dir: Path  # the model vLLM loads (the base model when serving adapters)
    how: list[str] = field(default_factory=list)  # one line per step taken, for the plan's facts
    hub_ref: hub.HubRef | None = None  # MODEL (or the base) came from a hub
    missing: list[hub.Missing] = field(default_factory=list)  # weights still to fetch
    adapters: list[Adapter] = field(default_factory=list)
    merge_key: str | None = None  # names the merged copy of base + the one adapter
    merged_dir: Path | None = None  # where MERGE_LORA=true puts (or found) that copy
    merged_done: bool = False  # that copy is there already: a restart reuses it
    weights: page_cache.WeightFacts | None = None  # of serve_dir, for the warm-up decision
    volume_cache: Path | None = None  # a writable spot on the model's own volume, if any
    gguf: GgufHeader | None = None  # MODEL is (or holds) one GGUF file: rules/gguf.py plans it
    gguf_dir: Path | None = None  # where its conversion goes (or is): the cache, by file
    gguf_done: bool = False  # converted by an earlier start
    gguf_tokenizer_done: bool = False  # its tokenizer written out by an earlier start
    gguf_tokenizer_beside: Path | None = None  # a Hugging Face tokenizer next to the file

    @property
    def served_name(self) -> str | None:
        """A readable default name for vLLM when the served folder is a cache path."""
        return self.hub_ref.repo_id if self.hub_ref else None


def read_entries(folder: Path) -> list[Entry]:
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError as error:
        reason = error.strerror
        raise UserError(f"{folder} cannot be listed ({reason}); check its permissions.") from None
    return [Entry(p.name, (p / "config.json").is_file(), (p / "adapter_config.json").is_file())
            for p in children]


def read_adapter(folder: Path, name: str) -> Adapter:
    path = folder / "adapter_config.json"
    data = read_json(path, required=True)  # one sentence for unreadable, truncated, non-objects
    ranks = [data.get("r")]
    if isinstance(data.get("rank_pattern"), dict):  # per-module ranks can exceed r
        ranks += list(data["rank_pattern"].values())
    ranks = [r for r in ranks if isinstance(r, int) and not isinstance(r, bool) and r > 0]
    if not ranks:
        raise UserError(f"{path} names no LoRA rank (r); only LoRA adapters can be served.")
    if data.get("peft_type", "LORA") != "LORA":
        raise UserError(f"{path} is a {data['peft_type']} adapter; vLLM serves LoRA adapters only.")
    base = data.get("base_model_name_or_path")
    return Adapter(name=name, path=Path(os.path.abspath(folder)), rank=max(ranks),
                   base=base if isinstance(base, str) and base else None)


def tokenizer_dir(gguf_dir: Path) -> Path:
    """Where a GGUF file's tokenizer goes for vLLM's own loader, beside its conversion."""
    return gguf_dir.with_name(gguf_dir.name + "-tokenizer")


def one_gguf(folder: Path, files: list[Path]) -> Path:
    """The GGUF file a folder without config.json is served from: its only one."""
    if len(files) > 1:
        names = ", ".join(p.name for p in files[:4]) + (" ..." if len(files) > 4 else "")
        raise UserError(f"MODEL={folder} holds {len(files)} GGUF files ({names}); set MODEL to"
                        " the one to serve (split GGUF files must be merged first).")
    return files[0]


def served_adapter_name(folder: Path) -> str:
    return re.sub(r"[^\w.-]", "-", folder.name) or "adapter"


def near_adapter(base: str, adapter: Path) -> str:
    """A relative base path was relative to the trainer's folder: try beside the adapter too."""
    if Path(base).is_absolute() or Path(base).exists():
        return base
    for folder in (adapter, *adapter.parents):
        if (folder / base / "config.json").is_file():
            return str(folder / base)
    return base


def find_adapters(folder: Path, entries: list[Entry]) -> list[Adapter]:
    if (folder / "adapter_config.json").is_file():
        return [read_adapter(folder, served_adapter_name(folder))]
    return [read_adapter(folder / e.name, served_adapter_name(folder / e.name))
            for e in entries if e.is_adapter and not e.is_model]


Fetch = Callable[[hub.HubRef], tuple[Path, hub.Missing | None]]


class Locator:
    """Walks from MODEL to a servable folder; `fetch` gets a hub id's config files."""

    def __init__(self, base_model: str | None, fetch: Fetch):
        self.base_model = base_model
        self.fetch = fetch

    def locate(self, text: str) -> Located:
        found = Located(given=text, serve_dir=Path(text))
        folder = self.materialise(text, found, label="MODEL")
        self.walk(folder, found)
        return found

    def materialise(self, text: str, found: Located, label: str) -> Path:
        """A local folder for `text`: itself, or the hub snapshot holding its config files."""
        path = Path(os.path.expanduser(text))  # "~nobody": left as is (Path raises there)
        # `data/model` where ./data exists is a missing local folder, not a hub id
        if path.exists() or not hub.looks_like_hub_id(text) or Path(text.split("/")[0]).is_dir():
            return path
        ref = hub.parse_ref(text, label)
        folder, missing = self.fetch(ref)
        found.hub_ref = found.hub_ref or ref
        found.how.append(f"{label}={text} is a {ref.hub_name} id: snapshot {folder}")
        if missing:
            found.missing.append(missing)
        return folder

    def walk(self, folder: Path, found: Located) -> None:
        if folder.is_file() and gguf.is_gguf(folder):
            found.gguf = read_header(folder)
            return
        if not folder.is_dir():
            return  # read_model_dir explains a missing folder or a file
        if (folder / "config.json").is_file():
            found.serve_dir = folder
            return
        if files := gguf.ggufs_in(folder):
            found.gguf = read_header(one_gguf(folder, files))
            return
        entries = read_entries(folder)
        adapters = find_adapters(folder, entries)
        picked = None if adapters and not any(CHECKPOINT.fullmatch(e.name) for e in entries) \
            else pick_from_listing(str(folder), entries)
        if picked:
            name, why = picked
            found.how.append(f"serving {folder / name}: {why}")
            self.walk(folder / name, found)
            return
        if adapters:
            self.serve_adapters(adapters, found)
            return
        found.serve_dir = folder  # read_model_dir names the missing config.json

    def serve_adapters(self, adapters: list[Adapter], found: Located) -> None:
        names = ", ".join(f"{a.name} ({a.path}, r={a.rank})" for a in adapters)
        found.how.append(f"LoRA adapters: {names}")
        found.adapters = adapters
        base = self.base_model or near_adapter(self.common_base(adapters), adapters[0].path)
        label = "BASE_MODEL" if self.base_model else "base_model_name_or_path"
        base_dir = self.materialise(base, found, label=label)
        if not (base_dir / "config.json").is_file():
            where = adapters[0].path / "adapter_config.json"
            raise UserError(f"The LoRA base model {base} ({label} in {where}) is not a model folder"
                            " with config.json; mount the base model and set BASE_MODEL to it.")
        found.how.append(f"base model: {base_dir} (from {label})")
        found.serve_dir = base_dir
        if len(adapters) == 1:
            found.merge_key = f"{base_dir.name}+{adapters[0].name}-" \
                f"{lora.fingerprint(base_dir, adapters[0].path)}"

    def common_base(self, adapters: list[Adapter]) -> str:
        bases = {a.base for a in adapters}
        if None in bases:
            missing = next(a for a in adapters if a.base is None)
            raise UserError(f"{missing.path / 'adapter_config.json'} names no base model"
                            " (base_model_name_or_path); set BASE_MODEL to the base model's"
                            " folder or hub id.")
        if len(bases) > 1:
            raise UserError(f"The adapters under one MODEL folder name different base models"
                            f" ({', '.join(sorted(bases))}); serve one base per start, or set"
                            " BASE_MODEL to the one they all fit.")
        return bases.pop()


def locate(text: str, environ: Mapping[str, str], base_model: str | None, hub_name: str,
           cache_dir: str | None) -> Located:
    """MODEL -> Located, fetching only a hub id's config files (see the module doc)."""
    store = hub.Store(hub_name=hub_name, cache_dir=cache_dir, environ=environ)
    try:
        found = Locator(base_model, store.fetch_configs).locate(text)
        if found.serve_dir.is_dir() and not found.missing and found.gguf is None:
            found.weights = page_cache.read_facts(found.serve_dir)
        found.volume_cache = volume_cache(Path(text) if found.hub_ref is None else found.serve_dir)
        root = Path(cache_dir) if cache_dir else hub.user_cache_root(environ)
        if found.gguf is not None:
            found.gguf_dir = root / "gguf" / gguf.cache_key(found.gguf.path)
            found.gguf_done = gguf.is_converted(found.gguf_dir)
            found.gguf_tokenizer_done = gguf.has_tokenizer(tokenizer_dir(found.gguf_dir))
            found.gguf_tokenizer_beside = gguf.tokenizer_beside(found.gguf.path)
        if found.merge_key:
            found.merged_dir = root / "merged" / found.merge_key
            found.merged_done = (found.merged_dir / "config.json").is_file()
    except (OSError, ValueError) as error:  # name too long, no permission, NUL byte
        reason = getattr(error, "strerror", None) or str(error)
        raise UserError(f"Model directory {text[:200]!r} cannot be opened ({reason});"
                        " set MODEL to a readable folder.") from None
    return found


def volume_cache(model_path: Path) -> Path | None:
    """`<mount point>/.cache` when the model sits on its own writable mount (a volume that
    outlives the container); None on the container's root file system."""
    point = Path(page_cache.mount_point(model_path)) if model_path.exists() else Path("/")
    if point == Path("/") or not hub.writable(point):
        return None
    return point / ".cache"

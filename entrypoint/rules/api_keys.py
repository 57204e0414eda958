"""API keys: gathered by a pure rule, checked in vLLM's API server by a small ASGI middleware.

Why not vLLM's own `--api-key k1 k2`: every process listing (`ps`, /proc/<pid>/cmdline) would
show the keys, and vLLM logs its non-default arguments at start. `VLLM_API_KEY` keeps them out of
argv but holds one key only. So the rule hands vLLM only `--middleware` (our
`entrypoint.serve.api_keys`) and an environment variable with the SHA-256 digests of the keys; the
keys themselves reach no argv, log line or dry-run output. Requests to anything but the probe
endpoints need one valid key.
"""

from __future__ import annotations

from entrypoint.errors import UserError
from entrypoint.rules.context import Context
from entrypoint.rules.outcome import Outcome, decide, middleware
from entrypoint.serve.names import API_KEYS, DIGESTS_ENV
from entrypoint.settings.provenance import Decision, Source


def digest(key: str) -> str:
    import hashlib  # here and below: only when keys are set, kept off the usual start

    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def split_keys(raw: object) -> list[str]:
    return [key.strip() for key in str(raw).split(",") if key.strip()]


def unsendable(key: str) -> int | None:
    """1-based position of the first character that is not visible ASCII (! to ~), else None.

    Bearer tokens are ASCII (RFC 6750), and HTTP clients send header values as ASCII: the
    official openai client (httpx) raises UnicodeEncodeError before sending such a key, so it
    could never be used.
    """
    return next((at for at, char in enumerate(key, 1) if not "!" <= char <= "~"), None)


def refuse_unsendable(keys: list[str], origins: list[str]) -> None:
    for number, key in enumerate(keys, 1):
        at = unsendable(key)
        if at is not None:
            raise UserError(
                f"API key {number} of {len(keys)} (from {', '.join(origins)}) has a character "
                f"at position {at} that is not visible ASCII, which HTTP clients cannot send "
                f"in an Authorization header (the openai client refuses it); use keys of ASCII "
                f"letters, digits and punctuation.")


def gather(ctx: Context) -> tuple[list[str], list[str]]:
    """The keys and where they came from: API_KEY, API_KEYS, and vLLM's own --api-key flag."""
    keys: list[str] = []
    origins: list[str] = []
    for name in ("api_key", "api_keys"):
        if ctx.value(name):
            keys += split_keys(ctx.value(name))
            origins.append(ctx.label(name))
    for flag in ctx.argv.passthrough:
        if flag.option == "--api-key":
            keys += [key for value in flag.values for key in split_keys(value)]
            origins.append("--api-key")
    return list(dict.fromkeys(keys)), origins


def require_api_keys(ctx: Context) -> Outcome:
    """Take the keys off vLLM's argv and switch on the middleware that checks them."""
    keys, origins = gather(ctx)
    # The keys reach the middleware as digests, never vLLM's argv.
    taken_off = Outcome(dropped_flags=("--api-key",), secrets=tuple(keys))
    if not keys:
        return taken_off
    refuse_unsendable(keys, origins)
    from entrypoint.serve.api_keys import OPEN_PATHS

    if ctx.environ.get("VLLM_API_KEY"):
        raise UserError(
            f"VLLM_API_KEY and {' / '.join(origins)} are both set; vLLM would demand both keys at"
            " once: unset VLLM_API_KEY and list every key in API_KEYS."
        )
    source = Source.CLI if any(origin.startswith("-") for origin in origins) else Source.ENV
    reason = (f"{len(keys)} API key(s) from {', '.join(origins)}: every path except "
              f"{', '.join(sorted(OPEN_PATHS))} needs `Authorization: Bearer <key>`")
    digests = Decision(",".join(digest(k) for k in keys), source,
                       "SHA-256 digests of the API keys, read by the middleware")
    return (taken_off + Outcome(own_env={DIGESTS_ENV: digests})
            + decide("api_keys", ",".join(keys), source, reason)  # shown masked, with this reason
            + middleware(API_KEYS, source, "checks the API keys"))

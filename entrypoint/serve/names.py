"""The names `run` and vLLM's server share: each middleware's dotted path (vLLM's `--middleware`
imports it) and the variables that hand the middlewares their data. Planning imports only these,
never the serving code (asyncio and the rest stay off `run --dry-run`)."""

API_KEYS = "entrypoint.serve.api_keys.ApiKeyMiddleware"
ENGINE_WATCH = "entrypoint.serve.supervision.EngineWatch"
LEGACY_CLIENTS = "entrypoint.serve.legacy_clients.LegacyClients"
PAGE = "entrypoint.serve.page.StatusPage"
MIDDLEWARES = (API_KEYS, ENGINE_WATCH, LEGACY_CLIENTS, PAGE)

DIGESTS_ENV = "ENTRYPOINT_API_KEY_SHA256"  # SHA-256 digests of the API keys, comma-separated
PLAN_ENV = "ENTRYPOINT_PAGE_PLAN"  # the file with the plan as the page at / shows it

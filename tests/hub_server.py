"""A loopback stand-in for the Hugging Face hub's download API (no internet in tests).

Serves one repo from a dict of files: the revision info (`/api/models/<id>/revision/<rev>`)
and the files (`HEAD`/`GET /<id>/resolve/<rev>/<path>`, with Range for resumed downloads). It
records the Authorization headers it saw, so tests can check HF_TOKEN reached the hub.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repo_id: str, files: dict[str, bytes], token: str | None = None):
        self.repo_id, self.files, self.token = repo_id, files, token
        self.auth_seen: list[str] = []
        self.downloads: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.answer(self, body=False)

            def do_GET(self):
                hub.answer(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: BaseHTTPRequestHandler, body: bool) -> None:
        auth = request.headers.get("Authorization") or ""
        self.auth_seen.append(auth)
        if self.token and auth != f"Bearer {self.token}":
            return self.send(request, 401, b'{"error": "Invalid credentials"}', body)
        api = f"/api/models/{self.repo_id}/revision/"
        files = f"/{self.repo_id}/resolve/"
        path = request.path.split("?")[0]
        tree = f"/api/models/{self.repo_id}/tree/"
        if path.startswith(tree):
            listing = [{"type": "file", "path": name, "size": len(data),
                        "oid": hashlib.sha1(data).hexdigest()} for name, data in self.files.items()]
            return self.send(request, 200, json.dumps(listing).encode(), body)
        if path.startswith(api):
            info = {"id": self.repo_id, "modelId": self.repo_id, "sha": COMMIT, "private": False,
                    "siblings": [{"rfilename": name, "size": len(data)}
                                 for name, data in self.files.items()]}
            return self.send(request, 200, json.dumps(info).encode(), body)
        if path.startswith(files):
            name = path[len(files):].split("/", 1)[1]
            if name not in self.files:
                return self.send(request, 404, b"", body, {"X-Error-Code": "EntryNotFound"})
            data = self.files[name]
            headers = {"X-Repo-Commit": COMMIT,
                       "ETag": '"' + hashlib.sha256(data).hexdigest() + '"'}
            if body:
                self.downloads.append(name)
            start = 0
            ranged = request.headers.get("Range")
            if ranged and body:
                start = int(ranged.split("=")[1].split("-")[0])
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                return self.send(request, 206, data[start:], body, headers)
            return self.send(request, 200, data, body, headers)
        return self.send(request, 404, b'{"error": "Repository not found"}', body,
                         {"X-Error-Code": "RepoNotFound"})

    @staticmethod
    def send(request, status, data, body, headers=None):
        request.send_response(status)
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        if body:
            request.wfile.write(data)

"""The image's HEALTHCHECK: GET /health on the port the server was given through the
environment (PORT, AIP_HTTP_PORT, SAGEMAKER_BIND_TO_PORT, in the order `run` reads them), else the
default. A `--port` flag in the container's command is not visible here; use PORT instead.

Exit 0 when the server answers 200, 1 otherwise (what Docker's HEALTHCHECK expects).
"""

from __future__ import annotations

import os
import sys
import urllib.request

from entrypoint.errors import UserError
from entrypoint.settings.given import env_layer, value_or_default


def health_url(environ) -> str:
    try:
        port = value_or_default(env_layer(environ), "port")
    except UserError:  # a bad PORT: `run` refused it at start; the default is all there is
        port = value_or_default({}, "port")
    return f"http://127.0.0.1:{port}/health"


def main() -> int:
    try:
        with urllib.request.urlopen(health_url(os.environ), timeout=4) as answer:
            return 0 if answer.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""SQS, Secrets Manager and SSM served by moto's backends in this process, behind one lock.

moto's backends take no locks of their own (concurrent writers lose data), so every call goes
through `MotoServices.lock`. The WSGI app is moto's own dispatcher, called in-process: no
second listening socket.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from pipeline.local.aws.errors import ACCOUNT_ID

TARGET_PREFIXES = ("AmazonSQS.", "secretsmanager.", "AmazonSSM.")


class MotoServices:
    def __init__(self) -> None:
        # moto reads its account id when imported: set it first so ARNs say 000000000000.
        os.environ.setdefault("MOTO_ACCOUNT_ID", ACCOUNT_ID)
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.test import Client

        self.lock = threading.Lock()
        self._client = Client(DomainDispatcherApplication(create_backend_app))

    def call(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            response = self._client.open(
                path=path,
                method=method,
                query_string=query,
                headers=dict(headers),
                data=body,
            )
            return response.status_code, dict(response.headers), response.get_data()

    def reset(self) -> None:
        with self.lock:
            response = self._client.post("/moto-api/reset")
            if response.status_code != 200:
                raise RuntimeError(f"moto reset failed: HTTP {response.status_code}")

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.unit.pipeline.aws import (
    FakeAws,
    make_fake_aws,
    serve_partiql_inserts,
    set_aws_environment,
)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAws]:
    set_aws_environment(monkeypatch)
    serve_partiql_inserts(monkeypatch)
    with mock_aws():
        fake = make_fake_aws()
        monkeypatch.setenv("TABLE_NAME", "redline-events-test")
        monkeypatch.setenv("DLQ_URL", fake.queue_url)
        monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingest")
        yield fake

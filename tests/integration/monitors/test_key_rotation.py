"""A rotated New Relic license key: a 401/403 re-reads the secret once, then sends again."""

import json

import pytest

from .conftest import LICENSE_KEY, START, aws_client

pytestmark = pytest.mark.integration
ROTATED_KEY = "rotated-license-key-0123456789"


@pytest.mark.parametrize("refusal", [401, 403])
def test_a_refused_key_rereads_the_rotated_secret_and_delivers(
    receiver, make_forwarder, aws_endpoint, refusal, caplog
):
    forwarder = make_forwarder()
    secrets = aws_client("secretsmanager", aws_endpoint)
    secret_name = forwarder.settings.license_key_secret

    def policy(request):
        if request.headers["Api-Key"] == ROTATED_KEY:
            return 202, {}, b"{}"
        # The key was rotated after the forwarder read it.
        secrets.put_secret_value(
            SecretId=secret_name, SecretString=json.dumps({"LicenseKey": ROTATED_KEY})
        )
        return refusal, {}, b'{"error": "The API key provided is invalid"}'

    receiver.policy = policy
    result = forwarder.run(now=START + 10 * 60 + 1)
    assert [r.status for r in receiver.requests] == [refusal, 202]
    assert [r.headers["Api-Key"] for r in receiver.requests] == [LICENSE_KEY, ROTATED_KEY]
    assert result.minutes_delivered == 5
    assert LICENSE_KEY not in caplog.text and ROTATED_KEY not in caplog.text


def test_a_key_refused_again_after_the_reread_is_not_retried(receiver, make_forwarder):
    forwarder = make_forwarder()
    receiver.policy = lambda request: (401, {}, b'{"error": "invalid"}')
    result = forwarder.run(now=START + 10 * 60 + 1)
    assert [r.status for r in receiver.requests] == [401]  # the secret held the same key
    assert result.minutes_delivered == 0

"""auth_type AWS_IAM and JWT enforced by the local HTTP API as API Gateway does: refused
requests get API Gateway's answer and never reach the function."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa

from pipeline.local.api_auth import mint_local_token, sigv4_headers
from tests.integration.rawhttp import raw_request
from tests.integration.runtime.conftest import environment, running_runtime

pytestmark = pytest.mark.integration
ISSUER = "https://issuer.redline.test"
AUDIENCE = "redline-api"


def get(runtime, path="/health", headers=None):
    status, answer_headers, body = raw_request(runtime.options.api_port, "GET", path, headers)
    return status, {k.lower(): v for k, v in answer_headers.items()}, json.loads(body)


def api_url(runtime, path="/health"):
    return f"http://127.0.0.1:{runtime.options.api_port}{path}"


def invocations(runtime) -> int:
    return runtime.function("api").stats.invocations


@pytest.fixture(scope="module")
def iam_runtime(gateway, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("iam")
    config = environment(tmp_path, {"api": {"auth_type": "AWS_IAM"}})
    with running_runtime(gateway, config, tmp_path, warm_api_environments=0) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def jwt_runtime(gateway, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("jwt")
    api = {"auth_type": "JWT", "jwt_issuer": ISSUER, "jwt_audience": [AUDIENCE]}
    config = environment(tmp_path, {"api": api})
    with running_runtime(gateway, config, tmp_path, warm_api_environments=0) as runtime:
        yield runtime


def test_iam_a_signed_request_reaches_the_function(iam_runtime):
    before = invocations(iam_runtime)
    headers = sigv4_headers("GET", api_url(iam_runtime), "us-east-1")
    status, _, body = get(iam_runtime, headers=headers)
    assert status == 200 and body["status"] == "ok"
    assert invocations(iam_runtime) == before + 1


def test_iam_unsigned_or_badly_signed_requests_are_403_and_never_invoke(iam_runtime):
    before = invocations(iam_runtime)
    status, _, body = get(iam_runtime)
    assert (status, body) == (403, {"message": "Forbidden"})
    wrong_secret = sigv4_headers(
        "GET", api_url(iam_runtime), "us-east-1", credentials=Credentials("test", "not-the-secret")
    )
    status, _, body = get(iam_runtime, headers=wrong_secret)
    assert status == 403
    assert body["message"].startswith("The request signature we calculated does not match")
    unknown_key = sigv4_headers(
        "GET", api_url(iam_runtime), "us-east-1", credentials=Credentials("AKIDOTHER", "x")
    )
    status, _, body = get(iam_runtime, headers=unknown_key)
    assert (status, body["message"]) == (
        403,
        "The security token included in the request is invalid.",
    )
    other_path = sigv4_headers("GET", api_url(iam_runtime, "/events/one"), "us-east-1")
    status, _, _ = get(iam_runtime, "/events/two", headers=other_path)
    assert status == 403
    wrong_region = sigv4_headers("GET", api_url(iam_runtime), "eu-west-1")
    status, _, body = get(iam_runtime, headers=wrong_region)
    assert status == 403 and "Credential should be scoped" in body["message"]
    assert invocations(iam_runtime) == before


def test_jwt_a_token_from_the_local_issuer_reaches_the_function(jwt_runtime):
    token = mint_local_token(
        f"http://127.0.0.1:{jwt_runtime.options.lambda_port}", jwt_runtime.options.control_token
    )
    status, _, body = get(jwt_runtime, headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and body["status"] == "ok"


def test_jwt_jwks_is_served_without_the_token(jwt_runtime):
    status, _, body = raw_request(jwt_runtime.options.lambda_port, "GET", "/_redline/jwks.json")
    keys = json.loads(body)["keys"]
    assert status == 200 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert "d" not in keys[0]  # the public half only


def test_jwt_missing_expired_wrong_audience_or_forged_tokens_are_401(jwt_runtime):
    lambda_url = f"http://127.0.0.1:{jwt_runtime.options.lambda_port}"
    control = jwt_runtime.options.control_token
    wrong_audience = mint_local_token(lambda_url, control, audience="someone-else")
    short_lived = mint_local_token(lambda_url, control, ttl_seconds=1)
    kid = json.loads(raw_request(jwt_runtime.options.lambda_port, "GET", "/_redline/jwks.json")[2])[
        "keys"
    ][0]["kid"]
    forged = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600},
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": kid},
    )
    time.sleep(2.1)  # the short-lived token expires
    before = invocations(jwt_runtime)
    for headers, why in [
        ({}, "no Bearer token"),
        ({"Authorization": f"Bearer {wrong_audience}"}, "audience"),
        ({"Authorization": f"Bearer {short_lived}"}, "expired"),
        ({"Authorization": f"Bearer {forged}"}, "Signature verification failed"),
        ({"Authorization": "Bearer not.a.jwt"}, "not a JWT"),
    ]:
        status, answer_headers, body = get(jwt_runtime, headers=headers)
        assert (status, body) == (401, {"message": "Unauthorized"}), why
        assert why in answer_headers["www-authenticate"]
    assert invocations(jwt_runtime) == before


def test_jwt_minting_needs_the_stacks_token(jwt_runtime):
    status, _, _ = raw_request(jwt_runtime.options.lambda_port, "POST", "/_redline/jwt", body=b"{}")
    assert status == 401

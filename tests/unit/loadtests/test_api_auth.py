from loadtests.process import api_auth_headers
from loadtests.runconfig import Endpoints


def endpoints(auth: str) -> Endpoints:
    return Endpoints(
        region="us-east-1",
        stream_name="s",
        table_name="t",
        api_url="https://abc.execute-api.us-east-1.amazonaws.com",
        api_auth=auth,
    )


def test_an_open_api_gets_no_header():
    assert api_auth_headers(endpoints("NONE"), "https://x/events/1") == {}


def test_an_iam_api_gets_a_sigv4_signature_for_execute_api(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    headers = api_auth_headers(
        endpoints("AWS_IAM"), "https://abc.execute-api.us-east-1.amazonaws.com/events/1"
    )
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers


def test_a_jwt_api_gets_the_bearer_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("REDLINE_API_TOKEN", "t0ken")
    assert api_auth_headers(endpoints("JWT"), "https://x/") == {"Authorization": "Bearer t0ken"}

"""The request guard of the local stack's servers, decision by decision."""

from __future__ import annotations

import pytest

from pipeline.local.guard import TOKEN_HEADER, Guard, allowed_origins_from_env

PORT = 4566


def guard(**kwargs):
    return Guard(PORT, "the-token", **kwargs)


def headers(**extra):
    return {"Host": f"127.0.0.1:{PORT}", **extra}


def test_the_own_clients_request_passes():
    assert guard().check("POST", "/", headers()) is None
    assert guard().check("GET", "/_redline/health", headers(**{TOKEN_HEADER: "the-token"})) is None


@pytest.mark.parametrize(
    "host", ["attacker.example", f"attacker.example:{PORT}", "127.0.0.1:1", "", "127.0.0.1"]
)
def test_a_foreign_host_is_403(host):
    refusal = guard().check("POST", "/", {"Host": host})
    assert refusal is not None and (refusal.status, refusal.reason) == (403, "foreign_host")


def test_an_opted_in_origin_passes_and_others_do_not():
    opted = guard(
        allowed_origins=allowed_origins_from_env(
            {"REDLINE_ALLOWED_ORIGINS": "http://localhost:3000"}
        )
    )
    assert opted.check("GET", "/", headers(Origin="http://localhost:3000")) is None
    refusal = opted.check("GET", "/", headers(Origin="http://localhost:3001"))
    assert refusal is not None and refusal.reason == "cross_origin"


def test_a_bad_allowed_origin_is_a_clear_error():
    with pytest.raises(
        ValueError, match="REDLINE_ALLOWED_ORIGINS: 'localhost:3000' is not an origin"
    ):
        allowed_origins_from_env({"REDLINE_ALLOWED_ORIGINS": "localhost:3000"})


def test_public_paths_need_no_token_but_only_for_reading():
    open_jwks = guard(public_paths=frozenset({"/_redline/jwks.json"}))
    assert open_jwks.check("GET", "/_redline/jwks.json", headers()) is None
    refusal = open_jwks.check("POST", "/_redline/jwks.json", headers())
    assert refusal is not None and refusal.status == 401


def test_a_guard_without_a_token_refuses_every_control_route():
    refusal = Guard(PORT, None).check("GET", "/_redline/health", headers(**{TOKEN_HEADER: "x"}))
    assert refusal is not None and refusal.status == 403


def test_the_body_limit_is_checked_from_content_length():
    limited = guard(body_limit=lambda method, path, h: 10)
    assert limited.check("POST", "/", headers(**{"Content-Length": "10"})) is None
    refusal = limited.check("POST", "/", headers(**{"Content-Length": "11"}))
    assert refusal is not None and refusal.status == 413
    refusal = limited.check("POST", "/", headers(**{"Content-Length": "ten"}))
    assert refusal is not None and refusal.status == 400

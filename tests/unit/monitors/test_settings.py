import pytest

from monitors.forwarder.settings import METRIC_API_URLS, SettingsError, load_settings

from .conftest import BASE_ENV


def test_missing_variables_are_named_together():
    with pytest.raises(SettingsError) as error:
        load_settings({"NEW_RELIC_PAYLOADS_FILE": "x"})
    assert str(error.value) == (
        "the forwarder needs these environment variables: ENVIRONMENT, STREAM_NAME, TABLE_NAME, API_ID"
    )


def test_no_key_and_no_payloads_file_is_refused_with_the_three_choices():
    env = {k: v for k, v in BASE_ENV.items() if k != "NEW_RELIC_PAYLOADS_FILE"}
    with pytest.raises(
        SettingsError, match="NEW_RELIC_LICENSE_KEY or NEW_RELIC_LICENSE_KEY_SECRET"
    ):
        load_settings(env)


def test_defaults_follow_the_shared_names(settings_for):
    settings = settings_for()
    assert settings.checkpoint_parameter == "/redline/test/forwarder/checkpoint"
    assert settings.resources.ingest_function_name == "redline-ingest-test"
    assert settings.resources.api_function_name == "redline-api-test"
    assert settings.resources.forwarder_function_name == "redline-forwarder-test"
    assert settings.resources.dead_letter_queue_name == "redline-dlq-test"
    assert settings.metric_api_url == METRIC_API_URLS["US"]
    assert not settings.sends_to_new_relic


def test_eu_region_and_explicit_url(settings_for):
    assert settings_for(NEW_RELIC_REGION="eu").metric_api_url == (
        "https://metric-api.eu.newrelic.com/metric/v1"
    )
    url = "http://127.0.0.1:9999/metric/v1"
    assert settings_for(NEW_RELIC_METRIC_API_URL=url, NEW_RELIC_REGION="EU").metric_api_url == url


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEW_RELIC_REGION", "APAC", "NEW_RELIC_REGION must be US or EU, got 'APAC'"),
        (
            "NEW_RELIC_METRIC_API_URL",
            "metric-api",
            "NEW_RELIC_METRIC_API_URL must be an http(s) URL",
        ),
        (
            "FORWARDER_MAX_MINUTES_PER_RUN",
            "0",
            "FORWARDER_MAX_MINUTES_PER_RUN must be an integer 1..240, got 0",
        ),
        (
            "FORWARDER_SETTLE_SECONDS",
            "soon",
            "FORWARDER_SETTLE_SECONDS must be an integer 0..600, got 'soon'",
        ),
        ("FORWARD_AWS_METRICS", "maybe", "FORWARD_AWS_METRICS must be true or false, got 'maybe'"),
    ],
)
def test_bad_values_name_the_variable_and_the_allowed_values(settings_for, name, value, message):
    with pytest.raises(SettingsError) as error:
        settings_for(**{name: value})
    assert message in str(error.value)


def test_describe_never_shows_the_key(settings_for):
    settings = settings_for(NEW_RELIC_LICENSE_KEY="secret-license-key-123")
    assert settings.sends_to_new_relic
    assert "secret-license-key-123" not in repr(settings.describe())


@pytest.mark.parametrize(
    "url",
    ["http://metric-api.newrelic.com/metric/v1", "http://10.0.0.5:8080/metric/v1"],
)
def test_a_plain_http_metric_api_url_is_refused_outside_loopback(settings_for, url):
    with pytest.raises(SettingsError) as error:
        settings_for(NEW_RELIC_METRIC_API_URL=url)
    assert "NEW_RELIC_METRIC_API_URL must be https" in str(error.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/metric/v1", "http://localhost:9/v1", "http://[::1]:9/v1"]
)
def test_plain_http_is_allowed_to_this_machine(settings_for, url):
    assert settings_for(NEW_RELIC_METRIC_API_URL=url).metric_api_url == url


def test_the_on_failure_queue_is_named_by_its_url_or_name(settings_for):
    assert settings_for().resources.on_failure_queue_name == ""
    by_url = settings_for(ON_FAILURE_QUEUE_URL="http://127.0.0.1:4566/000000000000/failures-x/")
    assert by_url.resources.on_failure_queue_name == "failures-x"
    by_name = settings_for(ON_FAILURE_QUEUE_NAME="failures-y", ON_FAILURE_QUEUE_URL="http://h/z")
    assert by_name.resources.on_failure_queue_name == "failures-y"

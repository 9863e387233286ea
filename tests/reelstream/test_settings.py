import pytest
from pydantic import SecretStr, ValidationError

from reelstream.settings import EMBEDDED_DEFAULTS, PLACEHOLDER_API_KEY, Settings


def test_defaults_point_at_the_embedded_stack_on_non_standard_ports():
    settings = Settings(_env_file=None)
    for field, url in EMBEDDED_DEFAULTS.items():
        assert getattr(settings, field) == url
        assert settings.is_embedded(field)
    assert ":5432" not in settings.postgres_dsn and ":6379" not in settings.redis_url


def test_environment_variables_override_with_the_prefix(monkeypatch):
    monkeypatch.setenv("REELSTREAM_REDIS_URL", "redis://cache:6379/0")
    monkeypatch.setenv("REELSTREAM_TOPIC_PARTITIONS", "12")
    settings = Settings(_env_file=None)
    assert settings.redis_url == "redis://cache:6379/0" and not settings.is_embedded("redis_url")
    assert settings.topic_partitions == 12


def test_production_refuses_the_placeholder_api_key():
    with pytest.raises(ValidationError, match="REELSTREAM_API_KEY"):
        Settings(_env_file=None, environment="production")
    Settings(_env_file=None, environment="production", api_key=SecretStr("a-real-secret"))
    assert Settings(_env_file=None).api_key.get_secret_value() == PLACEHOLDER_API_KEY


def test_to_env_round_trips(monkeypatch):
    original = Settings(_env_file=None, worker_id="w-7", top_n=5, api_key=SecretStr("k"))
    for name, value in original.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None) == original


def test_bad_values_are_refused_with_the_field_named(monkeypatch):
    monkeypatch.setenv("REELSTREAM_TOPIC_PARTITIONS", "zero")
    with pytest.raises(ValidationError, match="topic_partitions"):
        Settings(_env_file=None)

"""Production settings fail loudly on missing or malformed values (checked in a fresh process,
because settings are read once at import)."""

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

GOOD = {
    "APP_ENV": "production",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "books.example.com",
    "DATABASE_URL": "postgres://app@db:5432/app",
    "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "REDIS_URL": "redis://redis:6379/0",
}


def load_settings(**overrides) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in GOOD}
    environment.update({k: v for k, v in {**GOOD, **overrides}.items() if v is not None})
    environment["DJANGO_SETTINGS_MODULE"] = "billbee_sevdesk.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('loaded')"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_complete_production_settings_load():
    result = load_settings()

    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "ENCRYPTION_KEYS", "REDIS_URL"]
)
def test_production_refuses_to_start_without(name):
    result = load_settings(**{name: None})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "short"),
        ("ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("DATABASE_URL", "nosuchdb://whatever"),
        ("APP_ENV", "staging"),
    ],
)
def test_production_refuses_to_start_with_a_malformed(name, value):
    result = load_settings(**{name: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr

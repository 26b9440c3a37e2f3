"""Production settings fail loudly on missing or malformed values (checked in a fresh process,
because settings are read once at import)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
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


def deploy_check(**overrides) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` as CI runs it, with production settings."""
    overrides = {"SECRET_KEY": secrets.token_urlsafe(64), **overrides}  # random, as CI's
    environment = {k: v for k, v in os.environ.items() if k not in {**GOOD, **overrides}}
    environment.update({k: v for k, v in {**GOOD, **overrides}.items() if v is not None})
    environment["DJANGO_SETTINGS_MODULE"] = "billbee_sevdesk.settings"
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_passes_the_deploy_checks():
    result = deploy_check(SANDBOX_ENABLED=None)

    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_the_sandbox():
    result = deploy_check(SANDBOX_ENABLED="true")

    assert result.returncode != 0
    assert "sandbox.E001" in result.stdout + result.stderr


def test_production_leaves_the_sandbox_uninstalled_by_default():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.apps import apps; "
            "print(apps.is_installed('sandbox.sevdesk'))",
        ],
        env={
            **{k: v for k, v in os.environ.items() if k not in GOOD and k != "SANDBOX_ENABLED"},
            **GOOD,
            "DJANGO_SETTINGS_MODULE": "billbee_sevdesk.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip() == "False", result.stderr

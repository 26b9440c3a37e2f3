# Production image: gunicorn + whitenoise for the web, the same image for worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_ENV=production

RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 app

WORKDIR /app
COPY pyproject.toml README.md ./
COPY billbee_sevdesk ./billbee_sevdesk
COPY core ./core
COPY merchants ./merchants
COPY orders ./orders
COPY connections ./connections
COPY accounts_mapping ./accounts_mapping
COPY exports ./exports
COPY sandbox ./sandbox
RUN pip install .
# .dockerignore keeps .env, data/, .git, .venv and caches out of the context (and this layer).
COPY . .

# collectstatic needs settings that load; these build-time values are not used at run time.
RUN SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
    ALLOWED_HOSTS=build DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://build:6379/0 \
    ENCRYPTION_KEYS=$(python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
    python manage.py collectstatic --noinput \
 && mkdir -p /data/media && chown -R app /data

# Run unprivileged; the code stays root-owned, so the app cannot rewrite it.
USER app
EXPOSE 8000
CMD ["gunicorn", "billbee_sevdesk.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

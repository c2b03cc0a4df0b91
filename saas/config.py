"""Settings from the environment, parsed strictly.

`APP_ENV` is `production` unless said otherwise, so a forgotten variable fails closed: outside
development and test, `SECRET_KEY`, `DATABASE_URL`, `REDIS_URL` and `PUBLIC_URL` must be set or
the app refuses to start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "test", "production")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


# The environment variables `load` reads (everything else in an override dict is Flask config).
ENV_VARS = frozenset({
    "APP_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SESSION_COOKIE_SECURE",
    "RATELIMIT_STORAGE_URL", "LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_IP", "API_RATE_LIMIT",
    "PASSWORD_MIN_LENGTH", "ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "INVITE_MAX_AGE_DAYS",
    "TRIAL_DAYS", "TICK_SECONDS", "ENGINE_TICK_WORKERS", "WORKER_LOG_LEVEL",
    "MESSAGING_ENCRYPTION_KEY", "SENDGRID_BASE_URL", "TWILIO_BASE_URL", "PROVIDER_TIMEOUT_SECONDS",
    "PUBLIC_URL", "UNKNOWN_RESEND_AFTER", "SEND_MAX_ATTEMPTS", "SEND_RETRY_BASE_SECONDS",
    "SEND_RETRY_MAX_SECONDS", "SEND_CONCURRENCY", "SEND_CHUNK", "WEBHOOK_MAX_AGE_SECONDS",
    "TRUSTED_PROXIES", "SENDS_OFF_TICK", "ENGINE_CLOCK_SHARED",
})

# The engine's and the periodic jobs' tuning (numbers above 0, counts whole; seconds unless
# said), read by the modules named: a tick's time budget, checked between tenants, and the step
# runs it claims per tenant (engine/tick.py); how long a started tick job counts as running
# before the ticker replaces it (worker/runner.py); how long a claimed send may stay `sending`
# before it is taken back (engine/sends.py); the send sweeps' shards, the tenants a sweep serves
# at once and each one's turn in seconds (engine/send_sweeps.py), the lanes of a tenant with
# more than a batch due (engine/send_jobs.py), a sweep's budget and how long
# one may go without a heartbeat before it is replaced (engine/send_jobs.py); how often
# the doctor runs (engine/doctor.py); how long an import may go without a heartbeat before it
# counts as interrupted (imports/services.py); how often the retention job runs, its rows per
# batch and its budget (admin/retention.py).
JOB_TUNING = {"ENGINE_TICK_BUDGET": 20, "ENGINE_BATCH_PER_TENANT": 2000, "ENGINE_TICK_STALE": 60,
              "ENGINE_SENDING_LEASE": 60, "SEND_SWEEP_SHARDS": 2, "SEND_SWEEP_TENANTS": 2,
              "SEND_TENANT_SLICE": 2, "SEND_TENANT_LANES": 2, "SEND_JOB_BUDGET": 30,
              "SEND_JOB_STALE": 60, "DOCTOR_SECONDS": 300, "IMPORT_STALE_SECONDS": 120,
              "RETENTION_SECONDS": 3600, "RETENTION_BATCH": 5000, "RETENTION_BUDGET_SECONDS": 300}
ENV_VARS = ENV_VARS | frozenset(JOB_TUNING)

# Sending and webhook tuning (numbers; seconds unless said): the resend window of uncertain
# sends with no provider event, attempts before a retried send fails, the backoff's base and cap,
# provider calls at once per worker, step runs per commit, the oldest webhook timestamp accepted.
MESSAGING_TUNING = {"UNKNOWN_RESEND_AFTER": 3600, "SEND_MAX_ATTEMPTS": 6,
                    "SEND_RETRY_BASE_SECONDS": 30, "SEND_RETRY_MAX_SECONDS": 3600,
                    "SEND_CONCURRENCY": 32, "SEND_CHUNK": 200, "WEBHOOK_MAX_AGE_SECONDS": 600,
                    "SENDER_DAILY_CAP": 200, "SENDER_HOURLY_CAP": 30, "SENDER_MIN_GAP_SECONDS": 30,
                    "SOFT_BOUNCE_RESEND_SECONDS": 3600}
# Then a sender address's caps when neither it nor its tenant set their own
# (saas/engine/senders.py), and how long after a soft bounce (`blocked`) its email is sent again,
# twice that for the second time (saas/engine/resends.py).
ENV_VARS = ENV_VARS | frozenset(MESSAGING_TUNING)

# --- Key rotation (README, "Rotating keys"): two comma-separated lists, empty by default. -------
# OLD_SECRET_KEYS: former SECRET_KEYs whose tokens (and sign-in sessions: Flask's
# SECRET_KEY_FALLBACKS) still verify; SECRET_KEY alone signs. MESSAGING_ENCRYPTION_KEYS: Fernet
# keys for provider keys at rest, the first encrypts, all decrypt (MESSAGING_ENCRYPTION_KEY, when
# set, still decrypts after them). Read by `load` through `_key_rotation`.
KEY_ROTATION = {"OLD_SECRET_KEYS": "", "MESSAGING_ENCRYPTION_KEYS": ""}
ENV_VARS = ENV_VARS | frozenset(KEY_ROTATION)


def _key_rotation(env: dict) -> tuple:
    """The two lists as Flask config (comma-joined, blanks dropped); a bad Fernet key refused."""
    from cryptography.fernet import Fernet

    lists = {}
    for name, default in KEY_ROTATION.items():
        raw = env.get(name) or default
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        lists[name] = [str(item).strip() for item in items if str(item).strip()]
    for key in lists["MESSAGING_ENCRYPTION_KEYS"]:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                "MESSAGING_ENCRYPTION_KEYS must be Fernet keys separated by commas, e.g. the "
                "output of `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`.") from None
    return (*((name, ",".join(keys)) for name, keys in lists.items()),
            ("SECRET_KEY_FALLBACKS", tuple(lists["OLD_SECRET_KEYS"]) or None))
# --- end of key rotation -------------------------------------------------------------------------

# --- Outbound webhooks (saas/outbound): numbers, seconds unless said. ----------------------------
# A delivery's timeout, how long a failing delivery is retried from its first attempt (and a
# subscription failing without a success is disabled), deliveries a worker claims and calls at
# once (a thread each) and how long its claim lasts, the days delivered rows are kept. Two
# switches, defaulting by APP_ENV in `_outbound_webhooks`: https required (production), private
# addresses allowed (tests).
OUTBOUND_WEBHOOKS = {"OUTBOUND_WEBHOOK_TIMEOUT_SECONDS": 10, "OUTBOUND_WEBHOOK_RETRY_HOURS": 24,
                     "OUTBOUND_WEBHOOK_BATCH": 16, "OUTBOUND_WEBHOOK_LEASE_SECONDS": 60,
                     "OUTBOUND_WEBHOOK_RETENTION_DAYS": 30}
OUTBOUND_SWITCHES = ("OUTBOUND_WEBHOOK_HTTPS_ONLY", "OUTBOUND_WEBHOOK_ALLOW_PRIVATE")
ENV_VARS = ENV_VARS | frozenset(OUTBOUND_WEBHOOKS) | frozenset(OUTBOUND_SWITCHES)


def _outbound_webhooks(env: dict, app_env: str) -> tuple:
    tuning = [(name, _number(env, name, default)) for name, default in OUTBOUND_WEBHOOKS.items()]
    for name, value in tuning:
        if value <= 0:
            raise ConfigError(f"{name} must be a number above 0, got {value}")
    return (*tuning,
            ("OUTBOUND_WEBHOOK_HTTPS_ONLY",
             _bool(env, "OUTBOUND_WEBHOOK_HTTPS_ONLY", app_env == "production")),
            ("OUTBOUND_WEBHOOK_ALLOW_PRIVATE",
             _bool(env, "OUTBOUND_WEBHOOK_ALLOW_PRIVATE", app_env == "test")))
# --- end of outbound webhooks --------------------------------------------------------------------


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _number(env: dict, name: str, default: float) -> float:
    """A whole or decimal number (tests use fractions of a second)."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    return int(value) if value.is_integer() else value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):  # an override given in code (tests, the CLI's --set)
        return raw
    raw = str(raw)
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    database_url: str
    redis_url: str | None
    session_cookie_secure: bool
    ratelimit_storage_url: str
    login_limit_per_account: str
    login_limit_per_ip: str
    api_rate_limit: str  # requests per API key (Flask-Limiter's notation)
    password_min_length: int
    argon2_time_cost: int
    argon2_memory_cost: int
    invite_max_age_days: int
    trial_days: int
    tick_seconds: int
    engine_tick_workers: int  # PostgreSQL backends a tick keeps busy (its threads)
    worker_log_level: str
    rq_queues: tuple[str, ...] = field(default=("default", "sends", "webhooks"))
    job_tuning: tuple = ()  # (name, number) pairs, see JOB_TUNING
    # Automated emails and texts go out in send sweeps on the `sends` queue (one job per shard of
    # tenants, serving them in turn), instead of inside the tick (tests run them in the tick
    # unless they say otherwise).
    sends_off_tick: bool = True
    # Tests and demos move the engine clock through Redis (saas/engine/clock.py); in production
    # the engine's time is the system's and no Redis key can move it.
    engine_clock_shared: bool = False
    # Messaging: a Fernet key for provider API keys at rest (empty: saving a key is refused
    # outside development/test), the providers' base URLs (tests point them at a local server)
    # and the timeout every provider call carries.
    messaging_encryption_key: str = ""
    sendgrid_base_url: str = "https://api.sendgrid.com"
    twilio_base_url: str = "https://api.twilio.com"
    provider_timeout_seconds: float = 10
    # The app's public address, the only base of links in messages and on pages that are copied
    # elsewhere (password resets, invitations, tracking, unsubscribe, webhooks): never the
    # request's Host header, which the client chooses.
    public_url: str = "http://localhost:5000"
    messaging_tuning: tuple = ()
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are believed.
    trusted_proxies: int = 0
    key_rotation: tuple = ()  # (name, value) pairs from _key_rotation
    outbound_webhooks: tuple = ()  # (name, value) pairs from _outbound_webhooks

    def _connections(self) -> int:
        """The database connections one worker process may hold at once: its job's (a tick
        with its threads, or a send sweep with its tenants at once, each in its lanes)."""
        tuning = dict(self.job_tuning)
        sweep = int(tuning.get("SEND_SWEEP_TENANTS", 1)) * int(tuning.get("SEND_TENANT_LANES", 1))
        return 1 + max(self.engine_tick_workers, sweep)

    def as_flask_config(self) -> dict:
        return {
            "APP_ENV": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(self.database_url,
                                                         self._connections()),
            "REDIS_URL": self.redis_url,
            "SESSION_COOKIE_SECURE": self.session_cookie_secure,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.session_cookie_secure,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "PREFERRED_URL_SCHEME": "https" if self.session_cookie_secure else "http",
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_url,
            "RATELIMIT_HEADERS_ENABLED": True,
            "LOGIN_LIMIT_PER_ACCOUNT": self.login_limit_per_account,
            "LOGIN_LIMIT_PER_IP": self.login_limit_per_ip,
            "API_RATE_LIMIT": self.api_rate_limit,
            "PASSWORD_MIN_LENGTH": self.password_min_length,
            "ARGON2_TIME_COST": self.argon2_time_cost,
            "ARGON2_MEMORY_COST": self.argon2_memory_cost,
            "INVITE_MAX_AGE_DAYS": self.invite_max_age_days,
            "TRIAL_DAYS": self.trial_days,
            "TICK_SECONDS": self.tick_seconds,
            "ENGINE_TICK_WORKERS": self.engine_tick_workers,
            "RQ_QUEUES": self.rq_queues,
            "SENDS_OFF_TICK": self.sends_off_tick,
            "ENGINE_CLOCK_SHARED": self.engine_clock_shared,
            "WORKER_LOG_LEVEL": self.worker_log_level,
            **dict(self.job_tuning),
            "WTF_CSRF_TIME_LIMIT": None,
            "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
            "MESSAGING_ENCRYPTION_KEY": self.messaging_encryption_key,
            "SENDGRID_BASE_URL": self.sendgrid_base_url,
            "TWILIO_BASE_URL": self.twilio_base_url,
            "PROVIDER_TIMEOUT_SECONDS": self.provider_timeout_seconds,
            "PUBLIC_URL": self.public_url,
            "TRUSTED_PROXIES": self.trusted_proxies,
            **dict(self.messaging_tuning),
            **dict(self.key_rotation),
            **dict(self.outbound_webhooks),
        }


def _engine_options(url: str, connections: int = 1) -> dict:
    """The pool: 5 kept, and room for the most a worker's job holds at once (`connections`)
    beyond the usual 10 more, so that a sweep's lanes never wait for a connection."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": max(10, connections - 5 + 2)}


def redis_url_to_limits_uri(redis_url: str) -> str:
    """Flask-Limiter's storage URI for a redis URL (unix sockets use `redis+unix://`)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def _public_url(env: dict, dev_like: bool) -> str:
    raw = (env.get("PUBLIC_URL") or "").strip()
    if not raw:
        if not dev_like:
            raise ConfigError(
                "PUBLIC_URL is not set. Outside development it must be the site's address as "
                "people reach it (e.g. https://sequences.example.com): links in emails are "
                "built from it, never from the request's Host header.")
        return "http://localhost:5000"
    parts = urlsplit(raw)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or parts.username or parts.password):
        raise ConfigError(f"PUBLIC_URL must be an http(s) address such as "
                          f"https://sequences.example.com, got {raw!r}")
    return raw.rstrip("/")


def _trusted_proxies(env: dict) -> int:
    hops = _int(env, "TRUSTED_PROXIES", 0)
    if not 0 <= hops <= 10:
        raise ConfigError(f"TRUSTED_PROXIES must be the number of proxies in front of the app "
                          f"(0 to 10), got {hops}")
    return hops


def _job_tuning(env: dict) -> tuple:
    counts = ("ENGINE_BATCH_PER_TENANT", "SEND_SWEEP_SHARDS", "SEND_SWEEP_TENANTS",
              "SEND_TENANT_LANES", "RETENTION_BATCH")
    tuning = tuple((name, (_int if name in counts else _number)(env, name, default))
                   for name, default in JOB_TUNING.items())
    for name, value in tuning:
        if value <= 0:
            raise ConfigError(f"{name} must be a number above 0, got {value}")
    return tuning


def load(env: dict | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    app_env = env.get("APP_ENV", "production")
    if app_env not in ENVIRONMENTS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
    dev_like = app_env in ("development", "test")

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if not dev_like:
            raise ConfigError(
                "SECRET_KEY is not set. Outside development it must be set to a long random "
                "value, e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`."
            )
        secret_key = "dev-only-secret-key-not-for-production"  # noqa: S105
    elif not dev_like and len(secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters long outside development.")

    database_url = env.get("DATABASE_URL", "")
    if not database_url:
        if not dev_like:
            raise ConfigError("DATABASE_URL is not set (e.g. postgresql+psycopg://user@host/db).")
        database_url = f"sqlite:///{INSTANCE_DIR / 'saas.db'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    redis_url = env.get("REDIS_URL") or None
    if redis_url is None and not dev_like:
        raise ConfigError("REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0).")
    storage = redis_url_to_limits_uri(redis_url) if redis_url else "memory://"

    encryption_key = env.get("MESSAGING_ENCRYPTION_KEY", "")
    if encryption_key:
        from cryptography.fernet import Fernet

        try:
            Fernet(encryption_key)
        except (ValueError, TypeError):
            raise ConfigError(
                "MESSAGING_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64-encoded "
                "bytes), e.g. `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`.") from None

    return Settings(
        env=app_env,
        secret_key=secret_key,
        database_url=database_url,
        redis_url=redis_url,
        session_cookie_secure=_bool(env, "SESSION_COOKIE_SECURE", not dev_like),
        ratelimit_storage_url=env.get("RATELIMIT_STORAGE_URL", storage),
        login_limit_per_account=env.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;20 per hour"),
        login_limit_per_ip=env.get("LOGIN_LIMIT_PER_IP", "30 per minute;300 per hour"),
        api_rate_limit=env.get("API_RATE_LIMIT", "600 per minute"),
        password_min_length=_int(env, "PASSWORD_MIN_LENGTH", 10),
        argon2_time_cost=_int(env, "ARGON2_TIME_COST", 3),
        argon2_memory_cost=_int(env, "ARGON2_MEMORY_COST", 65536),
        invite_max_age_days=_int(env, "INVITE_MAX_AGE_DAYS", 7),
        trial_days=_int(env, "TRIAL_DAYS", 30),
        tick_seconds=_int(env, "TICK_SECONDS", 5),
        engine_tick_workers=_int(env, "ENGINE_TICK_WORKERS", 2),
        worker_log_level=env.get("WORKER_LOG_LEVEL", "WARNING"),
        job_tuning=_job_tuning(env),
        sends_off_tick=_bool(env, "SENDS_OFF_TICK", app_env != "test"),
        engine_clock_shared=_bool(env, "ENGINE_CLOCK_SHARED", dev_like),
        messaging_encryption_key=encryption_key,
        sendgrid_base_url=env.get("SENDGRID_BASE_URL") or "https://api.sendgrid.com",
        twilio_base_url=env.get("TWILIO_BASE_URL") or "https://api.twilio.com",
        provider_timeout_seconds=_number(env, "PROVIDER_TIMEOUT_SECONDS", 10),
        public_url=_public_url(env, dev_like),
        trusted_proxies=_trusted_proxies(env),
        messaging_tuning=tuple((name, _number(env, name, default))
                               for name, default in MESSAGING_TUNING.items()),
        key_rotation=_key_rotation(env),
        outbound_webhooks=_outbound_webhooks(env, app_env),
    )

"""Settings: one object built once and passed to ``create_app``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev"}


class ConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    production: bool = False
    data_dir: Path = Path("data")
    session_max_age: int = 60 * 60 * 24 * 30
    # A session not used for this long ends (seconds), whatever its age.
    session_idle_timeout: int = 60 * 60 * 24 * 30
    # Passwords set from now on need this many characters (existing ones keep working).
    password_min_length: int = 10
    max_body_bytes: int = 256 * 1024
    page_size: int = 30
    default_locale: str = "en"
    # Field limits (characters, after normalisation).
    title_min: int = 4
    title_max: int = 150
    body_min: int = 5
    body_max: int = 30_000
    # Moderation: a post is hidden once this many open flags come from members,
    # or this many from moderators.
    flag_threshold_members: int = 3
    flag_threshold_moderators: int = 1
    # New accounts are limited until trusted: old enough and with enough visible posts.
    new_account_max_links: int = 2
    new_account_post_interval: int = 30  # seconds between posts
    new_account_daily_posts: int = 10
    trusted_after_days: int = 3
    trusted_after_posts: int = 5
    # The same body again from the same author within this many seconds is refused.
    duplicate_post_window: int = 300
    # Rate limits: "N per period", several joined by ";" (the `limits` notation).
    # Counters live in memory (one process) or Redis ("redis://host:6379/0")
    # when several processes must share them.
    rate_limit_storage: str = "memory://"
    rate_limit_prefix: str = "forum"
    # Log-in throttling (forum.login_throttle): every attempt per address; failed
    # attempts per account and per (account, address); and, while an account is
    # over its limit, the attempts from fresh addresses without its device cookie.
    rate_limit_login_ip: str = "10 per minute; 60 per hour"
    rate_limit_login_account: str = "5 per 15 minutes"
    rate_limit_login_account_ip: str = "5 per 15 minutes"
    rate_limit_login_fresh: str = "1 per 15 seconds"
    rate_limit_signup: str = "10 per hour"
    rate_limit_post: str = "6 per minute; 60 per hour"
    rate_limit_flag: str = "5 per minute; 30 per day"
    rate_limit_search: str = "30 per minute"
    # The ask page looks up similar questions as the title is typed (debounced).
    rate_limit_similar: str = "60 per minute"
    # Password reset requests: per client address, and per email address asked for.
    rate_limit_password_reset_ip: str = "10 per hour"
    rate_limit_password_reset_address: str = "3 per hour"
    # Repeated-topic job: how often it runs in-process (seconds; 0 = never, e.g.
    # when `forum worker` runs it), which threads count (created in the last N
    # days), how many make a topic, and how often a run re-clusters everything
    # instead of only what changed (seconds).
    topics_interval: int = 3600
    topics_window_days: int = 90
    topics_min_size: int = 3
    topics_full_every: int = 24 * 3600
    # Spike alerts (forum.topics.spikes): how often the check runs in-process
    # (seconds; 0 = only after the topic job and by `forum topics spikes`), and
    # the rule: a topic is spiking with at least spike_min_threads new threads in
    # the last hour and at least spike_factor times its expected hourly count
    # (its threads of the four weeks before, per hour).
    spikes_interval: int = 300
    spike_min_threads: int = 4
    spike_factor: int = 5
    # How stale (seconds) a process's similar-questions index may get before it
    # picks up new, edited, hidden and deleted threads.
    similar_refresh: int = 30
    # Where the background jobs run (forum.jobs): "in-process" (an app on its
    # own), or "off" (web processes of `forum serve`, which runs them in a
    # process of their own, or beside a `forum worker`).
    jobs: str = "in-process"
    # Seconds between the job runner's looks at the related-questions queue.
    related_interval: int = 2
    # Thread views are counted in memory by each process ("memory://") or in
    # Redis ("redis://host:6379/0"), and written every views_flush seconds.
    views_storage: str = "memory://"
    views_flush: int = 5
    # Read template files again when they change (while editing them); off, each
    # is compiled once per process.
    reload_templates: bool = False
    # Memory (MB) each process keeps for rendered pieces of pages (an anonymous
    # reader's posts, thread list rows, search results: forum.templating.Fragments),
    # the least recently used dropped first. A thread's posts take ~20-40 KB: 48 MB
    # keeps those of one to two thousand threads.
    fragment_cache_mb: int = 48
    # The forum's address as people reach it: links in emails are absolute.
    base_url: str = "http://127.0.0.1:8000"
    # Email: smtp://user:pass@host:25 (plain, for a local relay),
    # smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465.
    # Empty: no email is sent (notifications still show in the forum).
    smtp_url: str = field(default="", repr=False)  # may hold a password
    smtp_from: str = ""
    # How often the outbox is sent (seconds; 0 = never in-process), how many
    # attempts a message gets, and how long a sender may hold a claimed row.
    mail_interval: int = 30
    mail_max_attempts: int = 5
    mail_claim_seconds: int = 600
    # Admission control (forum.admission): each process serves at most this many
    # requests at once and answers the rest with a 503 once they have waited
    # admission_wait_ms for a slot in vain (0: no limit);
    # Retry-After on those 503s (seconds); and, once the database is found
    # unreachable, how long requests are answered 503 without trying it again.
    # 8: on two cores, at three times the load they carry (300 reads + 30 replies/s
    # on SQLite), the refused got their 503 within 50 ms (p95) and the admitted
    # their page within 65 ms; with 16 the 503s took 110 ms (scripts/bench_load.py).
    max_in_flight: int = 8
    # How long a request beyond the limit may wait for a slot before its 503 (ms; at
    # most max_in_flight wait at once; 0: refused at once). A burst, or a worker
    # that pauses for a moment, is then carried instead of refused.
    admission_wait_ms: int = 50
    retry_after: int = 5
    db_retry_interval: int = 5
    # The proxies whose X-Forwarded-For / X-Forwarded-Proto (and X-Request-Id) are
    # believed: IP addresses or CIDR networks, comma-separated; none by default
    # (forum.ratelimit.client_ip owns the rule).
    trusted_proxies: str = ""
    # Uploads (forum.services.uploads): the largest file accepted (bytes), the
    # longest side an image keeps (larger ones are scaled down), how many files
    # a member may upload a day, and how many an account not yet trusted may
    # (trusted_after_days / trusted_after_posts; 0: none until trusted).
    upload_max_bytes: int = 8 * 1024 * 1024
    upload_max_dimension: int = 2048
    upload_daily_limit: int = 50
    upload_new_account_daily: int = 0
    # Where uploaded files are kept: empty for the folder uploads/ in the data
    # folder; "s3://bucket/prefix" for S3-compatible object storage (boto3, the
    # "s3" extra), with upload_s3_endpoint for a server other than AWS (MinIO,
    # Garage, Ceph ...) and the credentials from boto3's usual places
    # (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws, an instance role).
    upload_storage: str = ""
    upload_s3_endpoint: str = ""
    upload_s3_region: str = ""
    # Orphan uploads (forum.services.upload_prune): an upload nothing uses (no
    # post, hidden and deleted ones included; no avatar, earlier version of a
    # post, article or banner) is removed once it is this many hours old, by
    # the job runner every upload_prune_interval seconds (0: never in-process;
    # `forum uploads prune` on demand).
    upload_orphan_hours: int = 48
    upload_prune_interval: int = 3600

    @property
    def secure_cookies(self) -> bool:
        return self.production

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        production = env.get("FORUM_ENV", "development") == "production"
        data_dir = Path(env.get("FORUM_DATA_DIR", "data"))
        database_url = env.get("FORUM_DATABASE_URL") or default_database_url(data_dir)
        secret = env.get("FORUM_SECRET_KEY", "")
        if secret.strip().lower() in PLACEHOLDER_SECRETS:
            if production:
                raise ConfigError(
                    "FORUM_SECRET_KEY must be set to a long random value in production "
                    '(for example: python -c "import secrets; print(secrets.token_urlsafe(48))").'
                )
            secret = local_secret(data_dir)
        return cls(
            database_url=database_url,
            secret_key=secret,
            production=production,
            data_dir=data_dir,
            **tuning_from_env(env),
        )


# Settings read from FORUM_<NAME> (e.g. FORUM_FLAG_THRESHOLD_MEMBERS=5,
# FORUM_RATE_LIMIT_STORAGE=redis://127.0.0.1:6379/0).
TUNABLE = (
    "flag_threshold_members",
    "flag_threshold_moderators",
    "new_account_max_links",
    "new_account_post_interval",
    "new_account_daily_posts",
    "trusted_after_days",
    "trusted_after_posts",
    "duplicate_post_window",
    "rate_limit_storage",
    "rate_limit_prefix",
    "rate_limit_login_ip",
    "rate_limit_login_account",
    "rate_limit_login_account_ip",
    "rate_limit_login_fresh",
    "rate_limit_signup",
    "rate_limit_post",
    "rate_limit_flag",
    "rate_limit_search",
    "rate_limit_similar",
    "rate_limit_password_reset_ip",
    "rate_limit_password_reset_address",
    "session_max_age",
    "session_idle_timeout",
    "password_min_length",
    "topics_interval",
    "topics_window_days",
    "topics_min_size",
    "topics_full_every",
    "spikes_interval",
    "spike_min_threads",
    "spike_factor",
    "similar_refresh",
    "jobs",
    "related_interval",
    "views_storage",
    "views_flush",
    "reload_templates",
    "fragment_cache_mb",
    "base_url",
    "smtp_url",
    "smtp_from",
    "mail_interval",
    "mail_max_attempts",
    "mail_claim_seconds",
    "max_in_flight",
    "admission_wait_ms",
    "retry_after",
    "db_retry_interval",
    "trusted_proxies",
    "upload_max_bytes",
    "upload_max_dimension",
    "upload_daily_limit",
    "upload_new_account_daily",
    "upload_storage",
    "upload_s3_endpoint",
    "upload_s3_region",
    "upload_orphan_hours",
    "upload_prune_interval",
)


def tuning_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, object] = {}
    defaults = {f.name: f.default for f in fields(Settings)}
    for name in TUNABLE:
        raw = env.get(f"FORUM_{name.upper()}")
        if raw is None or raw.strip() == "":
            continue
        if isinstance(defaults[name], int):
            try:
                out[name] = int(raw)
            except ValueError:
                raise ConfigError(f"FORUM_{name.upper()} must be a whole number, not {raw!r}.") from None
        else:
            out[name] = raw.strip()
    if out.get("password_min_length", 10) < 8:  # type: ignore[operator]
        raise ConfigError("FORUM_PASSWORD_MIN_LENGTH must be at least 8 (ASVS).")
    for name in ("session_max_age", "session_idle_timeout"):
        value = out.get(name, 60)
        if isinstance(value, int) and value < 60:
            raise ConfigError(f"FORUM_{name.upper()} must be at least 60 seconds, not {value}.")
    for name in ("max_in_flight", "admission_wait_ms", "retry_after", "db_retry_interval", "fragment_cache_mb"):
        value = out.get(name, 0)
        if isinstance(value, int) and value < 0:
            raise ConfigError(f"FORUM_{name.upper()} must be 0 or more, not {value}.")
    if out.get("upload_orphan_hours", 48) < 1:  # type: ignore[operator]
        # Less would remove a file while the post that uses it is still being written.
        raise ConfigError("FORUM_UPLOAD_ORPHAN_HOURS must be at least 1.")
    if out.get("upload_prune_interval", 0) < 0:  # type: ignore[operator]
        raise ConfigError("FORUM_UPLOAD_PRUNE_INTERVAL must be 0 or more.")
    if out.get("jobs", "in-process") not in JOB_PLACES:
        raise ConfigError(f"FORUM_JOBS must be one of {', '.join(JOB_PLACES)}, not {out['jobs']!r}.")
    return out


JOB_PLACES = ("in-process", "off")


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'forum.db'}"


def local_secret(data_dir: Path) -> str:
    """A development secret kept in the data folder, so sessions survive restarts
    and several local processes agree on it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()

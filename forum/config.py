"""Settings: one object built once and passed to ``create_app``."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

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
    max_body_bytes: int = 256 * 1024
    page_size: int = 30
    default_locale: str = "en"
    # Field limits (characters, after normalisation).
    title_min: int = 4
    title_max: int = 150
    body_min: int = 5
    body_max: int = 30_000
    extra: dict[str, str] = field(default_factory=dict)

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
        return cls(database_url=database_url, secret_key=secret, production=production, data_dir=data_dir)


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

"""Where the templates, static files and migrations live.

In a checkout (and an editable install) they sit at the top of the repository;
a wheel carries them inside the package under ``_resources``.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    checkout = PACKAGE_DIR.parent / name
    if checkout.is_dir():
        return checkout
    return PACKAGE_DIR / "_resources" / name


TEMPLATES_DIR = resource_dir("templates")
STATIC_DIR = resource_dir("static")
ALEMBIC_DIR = resource_dir("alembic")
LOCALE_DIR = PACKAGE_DIR / "locale"

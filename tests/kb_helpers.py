"""Small hand-made data and helpers for the knowledge-base, similar-question
and topic-job tests (never the shared development data)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from forum.config import Settings
from forum.models import Category, Thread, User
from forum.topics import job
from tests.factories import make_thread

ROOT = Path(__file__).resolve().parent.parent

PASSWORD = [
    "How do I reset my password",
    "How can I reset my password",
    "Reset my password please",
    "I need to reset my password",
    "Password reset: how do I do it",
]
REFUND = [
    "How do I get a refund for my subscription",
    "Can I get a refund for my subscription",
    "Refund for my subscription please",
    "I want a refund for my subscription",
]
# The demo's English threads asking for a refund (forum.demo_content), one topic.
DEMO_ENGLISH_REFUND = (
    "How do I get a refund?",
    "Accidentally bought the annual plan, can I get my money back?",
    "Can I cancel and get my money back for this month?",
)
KOREAN_CRASH = ["앱이 자꾸 튕겨요", "앱이 계속 튕깁니다", "앱 실행하면 튕겨요", "앱이 갑자기 튕겨요"]
ONE_OFFS = [
    "Dark mode colours look wrong",
    "Export my notes to CSV",
    "Change the interface language",
    "Invoice address is wrong",
    "Where is the keyboard shortcut list",
]


def body_for(title: str) -> str:
    # Like the development data: the opening post repeats the title, so that no
    # shared boilerplate ("thanks for any help") ties unrelated threads together.
    return title


async def make_threads(
    session,
    titles: list[str],
    *,
    category: Category | None = None,  # type: ignore[no-untyped-def]
    author: User | None = None,
    solved: bool = False,
) -> list[Thread]:
    return [
        await make_thread(session, title=t, body=body_for(t), category=category, author=author, solved=solved)
        for t in titles
    ]


async def run_job(settings: Settings, mode: str = "auto", **kwargs) -> job.RunReport:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(job.run, settings, mode=mode, **kwargs)


def cli(
    database_url: str, *args: str, stdin: str | None = None, tmp: Path | None = None
) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    """Runs ``python -m forum ARGS`` in a fresh process against ``database_url``."""
    env = dict(os.environ, FORUM_DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    if tmp is not None:
        env["FORUM_DATA_DIR"] = str(tmp)
    return subprocess.run(
        [sys.executable, "-m", "forum", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=300,
    )


def jsonl(lines: list[object]) -> str:
    return "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines)


async def run_related(settings: Settings) -> None:
    """The job runner's related-questions job until it has nothing left: the backlog
    analysed and encoded, the similar-questions index stored, every queued list computed."""
    from forum.jobs import RelatedLoop

    loop = RelatedLoop(settings)
    try:
        while await loop.run_once():
            pass
    finally:
        await loop.stop()

"""`forum …` / `python -m forum …`: serve, demo, db, users, categories."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import pkgutil
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from forum import commands, migrations, seclog
from forum.config import ConfigError, Settings, default_database_url
from forum.db import is_sqlite, make_async_engine, make_sessionmaker
from forum.errors import ValidationError
from forum.models import Role
from forum.requestlog import configure_security_log

DEMO_DIR = Path("demo-data")


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Runs ``work`` in one transaction, committed if it returns."""

    async def main() -> Any:
        engine = make_async_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    from forum import server

    if is_sqlite(settings.database_url):
        migrations.upgrade(settings.database_url)
    workers = args.workers if args.workers is not None else server.default_workers()
    if workers < 1:
        raise ConfigError("--workers must be at least 1.")
    server.serve(
        settings,
        host=args.host,
        port=args.port,
        workers=workers,
        jobs=not args.no_jobs and settings.jobs != "off",
        access_log=not args.no_access_log,
    )


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from forum.demo import load_demo

    folder = Path(args.folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = Settings.from_env({"FORUM_DATA_DIR": str(folder), "FORUM_DATABASE_URL": default_database_url(folder)})
    print(f"Creating a fresh demo database in {folder}/ ...")
    migrations.upgrade(settings.database_url)
    from forum.storage import make_storage

    storage = make_storage(settings)
    made = run_in_session(settings, lambda session: load_demo(session, storage, spike_burst=True))
    # A spike is a topic's burst: until the topic job has grouped the demo's threads no
    # check can flag one. The runner's first pass now, rather than its first topic run
    # after the server starts, so the demo opens with its topics and its spike alert.
    print("Finding related questions, repeated topics and spikes (the job runner's first pass) ...")
    prepare_demo(settings)
    print("\nDemo accounts (username / password / role):")
    for user, password in made:
        print(f"  {user.username:<16} {password:<20} {user.role}")
    if args.no_serve:
        return
    print(f"\nServing on http://{args.host}:{args.port}  (Ctrl+C to stop)\n")
    args_serve = argparse.Namespace(
        host=args.host, port=args.port, workers=args.workers, no_jobs=False, no_access_log=False
    )
    cmd_serve(settings, args_serve)


def prepare_demo(settings: Settings) -> None:
    """Each background job once over the new demo (see :meth:`forum.jobs.JobRunner.run_each_once`)."""
    from forum.jobs import JobRunner

    asyncio.run(JobRunner(settings).run_each_once())


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    migrations.upgrade(settings.database_url, args.revision)
    print("Database is up to date.")


def cmd_db_downgrade(settings: Settings, args: argparse.Namespace) -> None:
    migrations.downgrade(settings.database_url, args.revision)
    print(f"Database downgraded to {args.revision}.")


def cmd_users_create(settings: Settings, args: argparse.Namespace) -> None:
    from forum.services import accounts

    password = args.password or getpass.getpass("Password: ")

    async def work(session: AsyncSession) -> int | None:
        user = await accounts.do_signup(
            session,
            username=args.username,
            password=password,
            email=args.email or "",
            display_name=args.display_name or "",
            role=Role(args.role),
            email_confirmed=bool(args.email),  # an administrator vouches for it
            password_min_length=settings.password_min_length,
        )
        return user.id

    user_id = run_in_session(settings, work)
    if args.role != Role.member.value:  # a role granted from the command line
        seclog.event("role.changed", target_user_id=user_id, before=None, after=args.role, via="cli")
    print(f"Created {args.role} {args.username}.")


def cmd_categories_create(settings: Settings, args: argparse.Namespace) -> None:
    from forum.services import categories

    async def work(session: AsyncSession) -> None:
        await categories.create_category(
            session,
            slug=args.slug,
            name_en=args.name_en,
            name_ko=args.name_ko or args.name_en,
            description_en=args.description_en or "",
            description_ko=args.description_ko or "",
        )

    run_in_session(settings, work)
    print(f"Created category {args.slug}.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forum", description="A community support forum.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the forum over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=None, help="web worker processes (default: one per core)")
    serve.add_argument(
        "--no-jobs",
        action="store_true",
        help="do not start the job runner (a `forum worker` runs the jobs elsewhere; same as FORUM_JOBS=off)",
    )
    serve.add_argument("--no-access-log", action="store_true", help="do not log every request")
    serve.set_defaults(func=cmd_serve)

    demo = sub.add_parser("demo", help="create a fresh demo database, fill it and serve it")
    demo.add_argument("--folder", default=str(DEMO_DIR))
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--workers", type=int, default=None, help="web worker processes (default: one per core)")
    demo.add_argument("--no-serve", action="store_true", help="only create the database")
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    up = db.add_parser("upgrade", help="apply the migrations")
    up.add_argument("revision", nargs="?", default="heads")
    up.set_defaults(func=cmd_db_upgrade)
    down = db.add_parser("downgrade", help="revert migrations")
    down.add_argument("revision")
    down.set_defaults(func=cmd_db_downgrade)

    users = sub.add_parser("users", help="accounts").add_subparsers(dest="users_command", required=True)
    create = users.add_parser("create", help="create an account")
    create.add_argument("username")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.member.value)
    create.add_argument("--password", help="read from a prompt when left out")
    create.add_argument("--email")
    create.add_argument("--display-name")
    create.set_defaults(func=cmd_users_create)

    cats = sub.add_parser("categories", help="categories").add_subparsers(dest="cat_command", required=True)
    cat_create = cats.add_parser("create", help="create a category")
    cat_create.add_argument("slug")
    cat_create.add_argument("--name-en", required=True)
    cat_create.add_argument("--name-ko")
    cat_create.add_argument("--description-en")
    cat_create.add_argument("--description-ko")
    cat_create.set_defaults(func=cmd_categories_create)

    for module_info in pkgutil.iter_modules(commands.__path__):
        module = importlib.import_module(f"forum.commands.{module_info.name}")
        module.register(sub)
        # Modules may also add subcommands to `forum users`.
        if hasattr(module, "register_users"):
            module.register_users(users)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    configure_security_log()
    try:
        settings = Settings.from_env()
        args.func(settings, args)
    except ConfigError as exc:
        sys.exit(f"forum: {exc}")
    except ValidationError as exc:
        sys.exit("forum: " + " ".join(exc.errors.values()))
    except KeyboardInterrupt:
        sys.exit(130)

"""Administrators' account commands under ``forum users``:

forum users set-password alice              # asks twice (or --password P)
forum users reset-link alice                # prints a one-hour, single-use reset link
forum users export alice > alice.json       # the member's data as JSON
forum users delete alice [--yes]            # removes the personal data, keeps the posts
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from forum import seclog
from forum.config import Settings
from forum.runtime import runtime_of


def register(sub: Any) -> None:
    """Nothing at the top level: the commands live under `forum users`."""


def register_users(users: Any) -> None:
    set_password = users.add_parser(
        "set-password",
        help="set an account's password (ends its sessions)",
        description="Sets the password after the password policy and logs the account out everywhere.",
    )
    set_password.add_argument("username")
    set_password.add_argument("--password", help="read from a prompt (asked twice) when left out")
    set_password.set_defaults(func=cmd_set_password)

    reset_link = users.add_parser(
        "reset-link",
        help="print a password reset link for an account (for accounts without email)",
        description="Prints a link, valid for an hour and usable once, that lets its holder choose the "
        "account's password. Built on FORUM_BASE_URL. Give it to the account's owner only.",
    )
    reset_link.add_argument("username")
    reset_link.set_defaults(func=cmd_reset_link)

    export = users.add_parser("export", help="print an account's data as JSON (profile, posts, votes, ...)")
    export.add_argument("username")
    export.set_defaults(func=cmd_export)

    delete = users.add_parser(
        "delete",
        help="delete an account: personal data removed, posts kept under 'deleted user N'",
    )
    delete.add_argument("username")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=cmd_delete)


def _ask_password() -> str:
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        sys.exit("forum: the two passwords differ; nothing changed.")
    return first


def cmd_set_password(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import run_in_session
    from forum.services import passwords
    from forum.services.accounts import get_user_by_username_or_404

    password = args.password if args.password is not None else _ask_password()

    async def work(session: AsyncSession) -> int:
        user = await get_user_by_username_or_404(session, args.username)
        await passwords.set_password(session, user, password, min_length=settings.password_min_length)
        assert user.id is not None
        return user.id

    user_id = _run(settings, run_in_session, work)
    seclog.event("password.changed", user_id=user_id, by="cli")
    print(f"Password of {args.username} changed; its sessions are logged out.")


def cmd_reset_link(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import run_in_session
    from forum.services import passwords
    from forum.services.accounts import get_user_by_username_or_404

    async def work(session: AsyncSession) -> tuple[int, str]:
        user = await get_user_by_username_or_404(session, args.username)
        if user.deleted_at is not None:
            sys.exit(f"forum: {args.username} is a deleted account.")
        assert user.id is not None
        return user.id, passwords.reset_token(settings.secret_key, user)

    user_id, token = _run(settings, run_in_session, work)
    seclog.event("password.reset_asked", user_id=user_id, by="cli")
    print(f"{settings.base_url.rstrip('/')}/password/reset/{token}")
    print("Valid for an hour, once. Give it to the account's owner only.", file=sys.stderr)


def cmd_export(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import run_in_session
    from forum.services import account_data
    from forum.services.accounts import get_user_by_username_or_404

    async def work(session: AsyncSession) -> dict[str, Any]:
        user = await get_user_by_username_or_404(session, args.username)
        return await account_data.export_data(session, user)

    data = _run(settings, run_in_session, work)
    seclog.event("account.exported", user_id=data["profile"]["id"], by="cli")
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def cmd_delete(settings: Settings, args: argparse.Namespace) -> None:
    from forum import hooks
    from forum.app import close_app, create_app
    from forum.services import account_data
    from forum.services.accounts import get_user_by_username_or_404

    if not args.yes:
        answer = input(f"Delete {args.username}'s account and personal data for good? Type the username: ")
        if answer.strip() != args.username:
            sys.exit("forum: nothing deleted.")

    async def main() -> int:
        # The app, for the hooks other packages register (moderation forgets
        # the notices it addressed to the person).
        app = create_app(settings)
        try:
            with hooks.using(runtime_of(app).hooks):
                async with runtime_of(app).sessionmaker.begin() as session:
                    user = await get_user_by_username_or_404(session, args.username)
                    await account_data.delete_account(session, user)
                    assert user.id is not None
                    return user.id
        finally:
            await close_app(app)

    user_id = _run(settings, lambda _s, work: asyncio.run(work()), main)
    seclog.event("account.deleted", user_id=user_id, by="cli")
    print(f"Deleted {args.username}: now {account_data.deleted_username(user_id)}; posts kept.")


def _run(settings: Settings, runner: Any, work: Any) -> Any:
    """Runs ``work``, turning a domain error into the command's error message."""
    from forum.errors import ForumError

    try:
        return runner(settings, work)
    except ForumError as exc:
        sys.exit(f"forum: {exc.message}")

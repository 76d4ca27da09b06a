"""`forum users token <username>`: create, list and revoke API tokens.

forum users token alice --name "status page"      # prints a new token once
forum users token alice --list
forum users token alice --revoke 3
forum users token alice --revoke-all
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from forum.clock import utcnow
from forum.config import Settings
from forum.errors import ForumError


def register(sub: Any) -> None:
    """Nothing at the top level: the command lives under `forum users`."""


def register_users(users: Any) -> None:
    token = users.add_parser(
        "token",
        help="create, list or revoke API tokens",
        description="Without options, creates a token and prints it once. Tokens act as the user, with the "
        "user's current role; only staff can use the support API.",
    )
    token.add_argument("username")
    token.add_argument("--name", default="", help="what the token is for")
    token.add_argument("--expires-days", type=int, help="the token stops working after this many days")
    action = token.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the user's tokens")
    action.add_argument("--revoke", type=int, metavar="ID", help="revoke one token")
    action.add_argument("--revoke-all", action="store_true", help="revoke every token of the user")
    token.set_defaults(func=cmd_users_token)


def cmd_users_token(settings: Settings, args: argparse.Namespace) -> None:
    from forum.cli import run_in_session
    from forum.services import tokens
    from forum.services.accounts import get_user_by_username_or_404

    if args.expires_days is not None and not 1 <= args.expires_days <= 3650:
        sys.exit("forum: --expires-days must be between 1 and 3650.")

    async def work(session: AsyncSession) -> list[str]:
        user = await get_user_by_username_or_404(session, args.username)
        if args.list:
            rows = await tokens.list_tokens(session, user)
            if not rows:
                return [f"{user.username} has no tokens."]
            lines = [f"{'id':>5}  {'prefix':<12} {'state':<8} {'created':<17} {'last used':<17} name"]
            now = utcnow()
            for t in rows:
                state = "revoked" if t.revoked_at else ("active" if t.active(now) else "expired")
                used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else "never"
                lines.append(
                    f"{t.id:>5}  {t.prefix + '…':<12} {state:<8} {t.created_at:%Y-%m-%d %H:%M} {used:<17} {t.name}"
                )
            return lines
        if args.revoke is not None:
            changed = await tokens.revoke_token(session, user, args.revoke)
            return [f"Revoked token {args.revoke}." if changed else f"Token {args.revoke} was already revoked."]
        if args.revoke_all:
            count = await tokens.revoke_all(session, user)
            return [f"Revoked {count} token(s) of {user.username}."]
        expires = utcnow() + timedelta(days=args.expires_days) if args.expires_days else None
        row, raw = await tokens.create_token(session, user, name=args.name, expires_at=expires)
        lines = [
            f"Created token {row.id} for {user.username} ({user.role}). It is shown only now:",
            "",
            f"    {raw}",
            "",
            "Send it as: Authorization: Bearer <token>",
        ]
        if not user.is_staff:
            lines.append(f"Note: {user.username} is not staff, so the support API will refuse this token (403).")
        return lines

    try:
        lines = run_in_session(settings, work)
    except ForumError as exc:
        sys.exit(f"forum: {exc.message}")
    print("\n".join(lines))

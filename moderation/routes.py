"""Moderation pages: flagging, the review queue, actions on posts, threads
and users, a user's own moderation page, and the admin pages (audit log,
word lists, roles).

Every handler: parse (``read_form`` checks CSRF) → permission → one
transaction → 303 redirect (or the form again with messages, 422).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from forum import seclog
from forum.clock import utcnow
from forum.errors import NotFound, ValidationError
from forum.i18n import gettext as _
from forum.models import Post, Role, Thread, User
from forum.pagination import page_number
from forum.permissions import can_see_thread, is_moderator
from forum.ratelimit import hit_or_429
from forum.services import account_data, accounts, formkeys
from forum.services import categories as category_service
from forum.services import threads as thread_service
from forum.urls import category_url, post_url, thread_url
from forum.web import (
    current_user,
    field,
    int_field,
    json_download,
    read_form,
    reading,
    redirect,
    render,
    render_form,
    require_user,
    safe_next,
    settings_of,
    writing,
)
from moderation import actions, audit, flags, notices, revisions, sanctions, spam
from moderation.permissions import GRANTABLE_ROLES, can_admin, check_admin, check_flag, check_moderate

# ---------------------------------------------------------------- helpers


async def _post(session: AsyncSession, request: Request, viewer: User | None) -> Post:
    """The post in the path with its author, thread and category; 404 for
    what the viewer may not see (the forum's rules)."""
    post = await session.scalar(
        select(Post)
        .options(
            joinedload(Post.thread).joinedload(Thread.category),  # type: ignore[arg-type]
            joinedload(Post.author),  # type: ignore[arg-type]
        )
        .where(col(Post.id) == request.path_params["post_id"])
    )
    if post is None or not can_see_thread(viewer, post.thread):
        raise NotFound(_("No such post."))
    if post.deleted_at is not None and not is_moderator(viewer):
        raise NotFound(_("No such post."))
    return post


async def _thread(session: AsyncSession, request: Request, viewer: User | None) -> Thread:
    return await thread_service.get_thread_or_404(session, request.path_params["thread_id"], viewer=viewer)


def _back(request: Request, form: Any, default: str) -> str:
    return safe_next(field(form, "next"), default)


# ---------------------------------------------------------------- flagging


async def _flag_page(
    request: Request, post: Post, *, values: dict[str, str], errors: dict[str, str], done: bool
) -> Response:
    return render_form(
        request,
        "moderation/flag.html",
        post=post,
        thread=post.thread,
        reasons=flags.MEMBER_REASONS,
        values=values,
        errors=errors,
        already=done,
    )


async def flag_form(request: Request) -> Response:
    user = require_user(request)
    async with reading(request) as session:
        post = await _post(session, request, user)
        check_flag(user, post)
        done = await flags.has_flagged(session, post, user)
    return await _flag_page(request, post, values={}, errors={}, done=done)


def _after_flag(user: User, post: Post) -> str:
    """Where a flagger lands, thanked: the post if it is still up, else its thread,
    else (the flags hid the question) its category; never a page they cannot see."""
    thread = post.thread
    if post.visible:
        url = post_url(thread, post)
    elif can_see_thread(user, thread):
        url = thread_url(thread)
    else:
        url = category_url(thread.category)
    path, _sep, fragment = url.partition("#")
    return path + ("&" if "?" in path else "?") + "flagged=1" + (f"#{fragment}" if fragment else "")


async def flag(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    values = {"reason": field(form, "reason"), "text": field(form, "text")}
    key = formkeys.check_key(field(form, formkeys.FIELD))
    await hit_or_429(request, "flag", f"user:{user.id}")
    try:
        async with writing(request) as session:
            claimed = await formkeys.claim(session, user=user, key=key)
            post = await _post(session, request, user)
            await flags.flag_post(
                session, post, user=user, reason=values["reason"], text=values["text"], settings=settings_of(request)
            )
            target = _after_flag(user, post)
            await formkeys.record(session, claimed, target)
    except ValidationError as exc:
        async with reading(request) as session:
            post = await _post(session, request, user)
        return await _flag_page(request, post, values=values, errors=exc.errors, done=False)
    return redirect(target)


# ---------------------------------------------------------------- the queue


async def queue(request: Request) -> Response:
    user = check_moderate(current_user(request))
    sort = request.query_params.get("sort", "most")
    sort = sort if sort in flags.SORTS else "most"
    async with reading(request) as session:
        items = await flags.load_queue(session, page=page_number(request.query_params.get("page")), sort=sort)
    return render(
        request,
        "moderation/queue.html",
        queue=items,
        sort=sort,
        reason_labels=flags.REASON_LABELS,
        kind_labels=sanctions.KIND_LABELS,
        moderator=user,
    )


# ---------------------------------------------------------------- post actions

PostAction = Callable[..., Awaitable[bool]]


def _post_action(action: PostAction) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        user = check_moderate(current_user(request))
        form = await read_form(request)
        async with writing(request) as session:
            post = await _post(session, request, user)
            await action(session, post, actor=user, reason=field(form, "reason"))
        return redirect(_back(request, form, post_url(post.thread, post)))

    return endpoint


async def _edit_page(request: Request, post: Post, values: dict[str, str], errors: dict[str, str]) -> Response:
    return render_form(
        request,
        "moderation/edit.html",
        post=post,
        thread=post.thread,
        values=values,
        errors=errors,
    )


async def edit_form(request: Request) -> Response:
    user = check_moderate(current_user(request))
    async with reading(request) as session:
        post = await _post(session, request, user)
    return await _edit_page(request, post, {"body": post.body, "title": post.thread.title, "reason": ""}, {})


async def edit(request: Request) -> Response:
    user = check_moderate(current_user(request))
    form = await read_form(request)
    values = {"body": field(form, "body"), "title": field(form, "title"), "reason": field(form, "reason")}
    try:
        async with writing(request) as session:
            post = await _post(session, request, user)
            await actions.edit_post(
                session,
                post,
                actor=user,
                body=values["body"],
                title=values["title"] if post.is_first else None,
                reason=values["reason"],
                limits=thread_service.Limits.from_settings(settings_of(request)),
            )
    except ValidationError as exc:
        async with reading(request) as session:
            post = await _post(session, request, user)
        return await _edit_page(request, post, values, exc.errors)
    return redirect(post_url(post.thread, post))


async def history(request: Request) -> Response:
    user = check_moderate(current_user(request))
    async with reading(request) as session:
        post = await _post(session, request, user)
        versions = await revisions.load_history(session, post)
    return render(request, "moderation/history.html", post=post, thread=post.thread, versions=versions)


# ---------------------------------------------------------------- thread actions

ThreadAction = Callable[..., Awaitable[bool]]


def _thread_action(action: ThreadAction) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        user = check_moderate(current_user(request))
        form = await read_form(request)
        async with writing(request) as session:
            thread = await _thread(session, request, user)
            await action(session, thread, actor=user, reason=field(form, "reason"))
        return redirect(_back(request, form, thread_url(thread)))

    return endpoint


async def _move_page(request: Request, thread: Thread, values: dict[str, str], errors: dict[str, str]) -> Response:
    async with reading(request) as session:
        categories = await category_service.all_categories(session)
    return render_form(
        request,
        "moderation/move.html",
        thread=thread,
        categories=categories,
        values=values,
        errors=errors,
    )


async def move_form(request: Request) -> Response:
    user = check_moderate(current_user(request))
    async with reading(request) as session:
        thread = await _thread(session, request, user)
    return await _move_page(request, thread, {"category": thread.category.slug}, {})


async def move(request: Request) -> Response:
    user = check_moderate(current_user(request))
    form = await read_form(request)
    values = {
        "category": field(form, "category"),
        "reason": field(form, "reason"),
        "drop_tags": field(form, "drop_tags"),
    }
    try:
        async with writing(request) as session:
            thread = await _thread(session, request, user)
            category = await category_service.get_category_by_slug(session, values["category"])
            await actions.move_thread(
                session, thread, category, actor=user, reason=values["reason"], drop_tags=values["drop_tags"] == "1"
            )
    except ValidationError as exc:
        async with reading(request) as session:
            thread = await _thread(session, request, user)
        return await _move_page(request, thread, values, exc.errors)
    return redirect(thread_url(thread))


async def _duplicate_page(request: Request, thread: Thread, values: dict[str, str], errors: dict[str, str]) -> Response:
    return render_form(
        request,
        "moderation/duplicate.html",
        thread=thread,
        values=values,
        errors=errors,
    )


async def duplicate_form(request: Request) -> Response:
    user = check_moderate(current_user(request))
    async with reading(request) as session:
        thread = await _thread(session, request, user)
    return await _duplicate_page(request, thread, {}, {})


async def duplicate(request: Request) -> Response:
    user = check_moderate(current_user(request))
    form = await read_form(request)
    values = {"original": field(form, "original"), "reason": field(form, "reason")}
    try:
        async with writing(request) as session:
            thread = await _thread(session, request, user)
            await actions.close_as_duplicate(
                session, thread, actions.parse_thread_ref(values["original"]), actor=user, reason=values["reason"]
            )
    except ValidationError as exc:
        async with reading(request) as session:
            thread = await _thread(session, request, user)
        return await _duplicate_page(request, thread, values, exc.errors)
    return redirect(thread_url(thread))


# ---------------------------------------------------------------- users


async def _user_page(
    request: Request, username: str, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> Response:
    viewer = check_moderate(current_user(request))
    async with reading(request) as session:
        target = await accounts.get_user_by_username_or_404(session, username)
        record = await sanctions.load_user_record(session, target)
    return render_form(
        request,
        "moderation/user.html",
        target=target,
        record=record,
        durations=sanctions.DURATIONS,
        kind_labels=sanctions.KIND_LABELS,
        roles=GRANTABLE_ROLES,
        viewer=viewer,
        now=utcnow(),
        errors=errors or {},
        values=values or {},
    )


async def user_page(request: Request) -> Response:
    return await _user_page(request, request.path_params["username"])


def _sanction_action(kind: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        user = check_moderate(current_user(request))
        form = await read_form(request)
        values = {"reason": field(form, "reason"), "hours": field(form, "hours"), "kind": field(form, "kind")}
        username = request.path_params["username"]
        back = _back(request, form, request.url_for("moderation:user", username=username).path)
        key = formkeys.check_key(field(form, formkeys.FIELD))
        try:
            async with writing(request) as session:
                claimed = await formkeys.claim(session, user=user, key=key)  # one warning per click
                target = await accounts.get_user_by_username_or_404(session, username)
                changed = await sanctions.apply(
                    session,
                    target,
                    action=kind,
                    actor=user,
                    reason=values["reason"],
                    hours=int_field(form, "hours"),
                    lift_kind=values["kind"],
                    post_id=int_field(form, "post_id"),
                )
                await formkeys.record(session, claimed, back)
            if changed:  # after the commit: what was done
                seclog.event(
                    "sanction",
                    request=request,
                    user_id=user.id,
                    target_user_id=target.id,
                    action=kind,
                    hours=int_field(form, "hours") if kind in ("silence", "suspend") else None,
                    lifted=values["kind"] if kind == "lift" else None,
                )
        except ValidationError as exc:
            return await _user_page(
                request,
                username,
                errors={f"{kind}_{k}": v for k, v in exc.errors.items()},
                values={f"{kind}_{k}": v for k, v in values.items()},
            )
        return redirect(back)

    return endpoint


async def export_user(request: Request) -> Response:
    """An administrator downloads a user's data (a request under PIPA / GDPR)."""
    admin = check_admin(current_user(request))
    async with reading(request) as session:
        target = await accounts.get_user_by_username_or_404(session, request.path_params["username"])
        data = await account_data.export_data(session, target)
    seclog.event("account.exported", request=request, user_id=target.id, by=admin.id)
    return json_download(data, f"forum-data-{target.id}.json")


async def delete_user_account(request: Request) -> Response:
    """An administrator deletes a user's account; the audit log keeps the action."""
    admin = check_admin(current_user(request))
    form = await read_form(request)
    username = request.path_params["username"]
    try:
        async with writing(request) as session:
            target = await accounts.get_user_by_username_or_404(session, username)
            if field(form, "confirm").strip() != target.username:
                raise ValidationError({"delete_confirm": _("Type the username to confirm")})
            before = audit.user_snapshot(target)
            if await account_data.delete_account(session, target):
                await audit.record(
                    session, actor=admin, action="user.delete_account", target=target, subject=target, before=before
                )
    except ValidationError as exc:
        return await _user_page(request, username, errors=exc.errors)
    seclog.event("account.deleted", request=request, user_id=target.id, by=admin.id)
    return redirect(request.url_for("moderation:user", username=target.username).path)


# ---------------------------------------------------------------- a user's own page


async def mine(request: Request) -> Response:
    user = require_user(request)
    async with reading(request) as session:
        data = await notices.load_my_moderation(session, user)
    return render(
        request,
        "moderation/mine.html",
        data=data,
        kind_labels=sanctions.KIND_LABELS,
        reason_labels=flags.REASON_LABELS,
    )


async def mark_read(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    async with writing(request) as session:
        await notices.mark_notices_read(session, user=user)
    return redirect(_back(request, form, "/me/moderation"))


async def acknowledge(request: Request) -> Response:
    user = require_user(request)
    form = await read_form(request)
    async with writing(request) as session:
        await notices.acknowledge_warning(session, request.path_params["sanction_id"], user=user)
    return redirect(_back(request, form, "/"))


# ---------------------------------------------------------------- admin


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def audit_log(request: Request) -> Response:
    """Administrators read everything; moderators read moderation actions."""
    reader = check_moderate(current_user(request))
    admin = can_admin(reader)
    readable = audit.readable_actions(admin=admin)
    params = request.query_params
    values = {name: params.get(name, "").strip() for name in ("actor", "action", "since", "until")}
    errors: dict[str, str] = {}
    async with reading(request) as session:
        actor = None
        if values["actor"]:
            actor = await accounts.get_user_by_username(session, values["actor"])
            if actor is None:
                errors["actor"] = _("No such user.")
        since, until = _date(values["since"]), _date(values["until"])
        if values["since"] and since is None:
            errors["since"] = _("Enter a date like 2024-05-31.")
        if values["until"] and until is None:
            errors["until"] = _("Enter a date like 2024-05-31.")
        if values["action"] and values["action"] not in readable:
            errors["action"] = _("Choose an action from the list.")
        entries = None
        if not errors:
            entries = await audit.browse(
                session,
                audit.AuditFilter(
                    actor=actor,
                    action=values["action"] or None,
                    since=since,
                    until=until,
                    actions=None if admin else audit.MODERATION_ACTIONS,
                ),
                page=page_number(params.get("page")),
            )
    query = "&".join(f"{k}={v}" for k, v in values.items() if v)
    return render_form(
        request,
        "moderation/audit.html",
        entries=entries,
        values=values,
        errors=errors,
        actions=readable,
        target_labels=audit.TARGET_LABELS,
        decoded=audit.decoded,
        query=query,
    )


async def _words_page(request: Request, *, values: dict[str, str], errors: dict[str, str]) -> Response:
    async with reading(request) as session:
        words = await spam.list_words(session)
    return render_form(request, "moderation/words.html", words=words, values=values, errors=errors)


async def words(request: Request) -> Response:
    check_admin(current_user(request))
    return await _words_page(request, values={}, errors={})


async def add_word(request: Request) -> Response:
    user = check_admin(current_user(request))
    form = await read_form(request)
    values = {"kind": field(form, "kind"), "word": field(form, "word")}
    try:
        async with writing(request) as session:
            await spam.add_word(session, actor=user, kind=values["kind"], word=values["word"])
    except ValidationError as exc:
        return await _words_page(request, values=values, errors=exc.errors)
    return redirect(request.url_for("moderation:words").path)


async def remove_word(request: Request) -> Response:
    user = check_admin(current_user(request))
    await read_form(request)
    async with writing(request) as session:
        await spam.remove_word(session, request.path_params["word_id"], actor=user)
    return redirect(request.url_for("moderation:words").path)


async def _roles_page(request: Request, *, values: dict[str, str], errors: dict[str, str]) -> Response:
    async with reading(request) as session:
        team = (
            await session.scalars(
                select(User)
                .where(col(User.role) != Role.member.value)
                .order_by(col(User.role), col(User.username_key))
                .limit(500)
            )
        ).all()
    return render_form(
        request,
        "moderation/roles.html",
        team=team,
        roles=GRANTABLE_ROLES,
        values=values,
        errors=errors,
    )


async def roles(request: Request) -> Response:
    check_admin(current_user(request))
    return await _roles_page(request, values={}, errors={})


async def set_role(request: Request) -> Response:
    user = check_admin(current_user(request))
    form = await read_form(request)
    values = {"username": field(form, "username"), "role": field(form, "role"), "reason": field(form, "reason")}
    try:
        async with writing(request) as session:
            target = await accounts.get_user_by_username(session, values["username"])
            if target is None:
                raise ValidationError({"username": _("No such user.")})
            if values["role"] not in GRANTABLE_ROLES:
                raise ValidationError({"role": _("That role cannot be granted here.")})
            before = target.role
            changed = await sanctions.set_role(session, target, values["role"], actor=user, reason=values["reason"])
    except ValidationError as exc:
        return await _roles_page(request, values=values, errors=exc.errors)
    if changed:
        seclog.event(
            "role.changed", request=request, user_id=user.id, target_user_id=target.id, before=before, after=target.role
        )
    return redirect(_back(request, form, request.url_for("moderation:roles").path))


routes: list[BaseRoute] = [
    Route("/p/{post_id:int}/flag", flag_form, methods=["GET"], name="moderation:flag-form"),
    Route("/p/{post_id:int}/flag", flag, methods=["POST"], name="moderation:flag"),
    Route("/mod/queue", queue, name="moderation:queue"),
    Route(
        "/mod/p/{post_id:int}/dismiss", _post_action(actions.dismiss_flags), methods=["POST"], name="moderation:dismiss"
    ),
    Route("/mod/p/{post_id:int}/hide", _post_action(actions.hide_post), methods=["POST"], name="moderation:hide"),
    Route(
        "/mod/p/{post_id:int}/restore", _post_action(actions.restore_post), methods=["POST"], name="moderation:restore"
    ),
    Route("/mod/p/{post_id:int}/delete", _post_action(actions.delete_post), methods=["POST"], name="moderation:delete"),
    Route("/mod/p/{post_id:int}/edit", edit_form, methods=["GET"], name="moderation:edit-form"),
    Route("/mod/p/{post_id:int}/edit", edit, methods=["POST"], name="moderation:edit"),
    Route("/mod/p/{post_id:int}/history", history, name="moderation:history"),
    Route("/mod/t/{thread_id:int}/lock", _thread_action(actions.lock_thread), methods=["POST"], name="moderation:lock"),
    Route(
        "/mod/t/{thread_id:int}/unlock",
        _thread_action(actions.unlock_thread),
        methods=["POST"],
        name="moderation:unlock",
    ),
    Route("/mod/t/{thread_id:int}/pin", _thread_action(actions.pin_thread), methods=["POST"], name="moderation:pin"),
    Route(
        "/mod/t/{thread_id:int}/unpin", _thread_action(actions.unpin_thread), methods=["POST"], name="moderation:unpin"
    ),
    Route(
        "/mod/t/{thread_id:int}/reopen",
        _thread_action(actions.reopen_thread),
        methods=["POST"],
        name="moderation:reopen",
    ),
    Route("/mod/t/{thread_id:int}/move", move_form, methods=["GET"], name="moderation:move-form"),
    Route("/mod/t/{thread_id:int}/move", move, methods=["POST"], name="moderation:move"),
    Route("/mod/t/{thread_id:int}/duplicate", duplicate_form, methods=["GET"], name="moderation:duplicate-form"),
    Route("/mod/t/{thread_id:int}/duplicate", duplicate, methods=["POST"], name="moderation:duplicate"),
    Route("/mod/u/{username}", user_page, methods=["GET"], name="moderation:user"),
    *(
        Route(f"/mod/u/{{username}}/{kind}", _sanction_action(kind), methods=["POST"], name=f"moderation:{kind}")
        for kind in sanctions.ACTIONS
    ),
    Route("/mod/u/{username}/data.json", export_user, methods=["GET"], name="moderation:export-user"),
    Route("/mod/u/{username}/delete-account", delete_user_account, methods=["POST"], name="moderation:delete-user"),
    Route("/me/moderation", mine, methods=["GET"], name="moderation:mine"),
    Route("/me/moderation/read", mark_read, methods=["POST"], name="moderation:mark-read"),
    Route("/me/warnings/{sanction_id:int}/acknowledge", acknowledge, methods=["POST"], name="moderation:acknowledge"),
    Route("/admin/audit", audit_log, name="moderation:audit"),
    Route("/admin/words", words, methods=["GET"], name="moderation:words"),
    Route("/admin/words", add_word, methods=["POST"], name="moderation:add-word"),
    Route("/admin/words/{word_id:int}/delete", remove_word, methods=["POST"], name="moderation:remove-word"),
    Route("/admin/roles", roles, methods=["GET"], name="moderation:roles"),
    Route("/admin/roles", set_role, methods=["POST"], name="moderation:set-role"),
]

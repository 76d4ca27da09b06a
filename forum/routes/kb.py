"""Knowledge base: the article list and pages, the staff editor, reader
feedback, threads answered by an article, and the staff's synonym list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.errors import NotAllowed, ValidationError
from forum.i18n import gettext as _
from forum.models import Article
from forum.pagination import page_number
from forum.security import token_hash
from forum.services import categories as category_service
from forum.services import formkeys
from forum.services import kb as service
from forum.services import threads as thread_service
from forum.services import topics as topic_service
from forum.textutil import normalise, one_line
from forum.urls import article_url, thread_url
from forum.web import (
    current_user,
    field,
    read_form,
    reading,
    redirect,
    render,
    render_form,
    require_user,
    settings_of,
    writing,
)


def _browser_key(request: Request) -> str | None:
    """Anonymous readers are told apart by their CSRF seed cookie (hashed)."""
    seed = request.state.csrf_seed
    return token_hash(f"kb-feedback:{seed}") if seed else None


def _require_writer(request: Request):  # type: ignore[no-untyped-def]
    user = require_user(request)
    if not service.can_write_articles(user):
        raise NotAllowed(_("Only staff can write knowledge-base articles."))
    return user


# ---------------------------------------------------------------- reading


async def article_list(request: Request) -> Response:
    user = current_user(request)
    drafts = request.query_params.get("drafts") == "1" and service.can_write_articles(user)
    async with reading(request) as session:
        articles = await service.list_articles(
            session,
            viewer=user,
            page=page_number(request.query_params.get("page")),
            size=settings_of(request).page_size,
            drafts=drafts,
        )
    return render(
        request,
        "kb/list.html",
        public=True,
        articles=articles,
        drafts=drafts,
        can_write=service.can_write_articles(user),
    )


async def article_bare(request: Request) -> Response:
    async with reading(request) as session:
        article = await service.get_article_or_404(
            session, request.path_params["article_id"], viewer=current_user(request)
        )
    return redirect(article_url(article))


async def _article_page(request: Request, article_id: int, *, status_code: int = 200, **extra) -> Response:  # type: ignore[no-untyped-def]
    user = current_user(request)
    async with reading(request) as session:
        article = await service.get_article_or_404(session, article_id, viewer=user)
        feedback = await service.feedback_of(session, article, user=user, browser_key=_browser_key(request))
        linked = await service.linked_thread_count(session, article) if service.can_write_articles(user) else 0
    return render(
        request,
        "kb/article.html",
        status_code=status_code,
        article=article,
        feedback=feedback,
        linked=linked,
        can_write=service.can_write_articles(user),
        **extra,
    )


async def article_detail(request: Request) -> Response:
    async with reading(request) as session:
        article = await service.get_article_or_404(
            session, request.path_params["article_id"], viewer=current_user(request)
        )
    if request.path_params.get("slug") != article.slug:
        return redirect(article_url(article))
    return await _article_page(request, request.path_params["article_id"])


# ---------------------------------------------------------------- the editor


async def _editor(
    request: Request, *, article: Article | None, values: dict[str, str], errors: dict[str, str]
) -> Response:
    async with reading(request) as session:
        categories = await category_service.all_categories(session)
    return render_form(
        request,
        "kb/edit.html",
        article=article,
        values=values,
        errors=errors,
        categories=categories,
    )


async def _category(session, values: dict[str, str]):  # type: ignore[no-untyped-def]
    """The chosen category; a bad choice is reported with the other fields' problems."""
    category = await category_service.get_category_by_slug(session, values["category"])
    errors = service.check_article(one_line(values["title"]), normalise(values["body"]))
    if values["category"] and category is None:
        errors["category"] = _("Choose a category from the list.")
    if errors:
        raise ValidationError(errors)
    return category


def _form_values(form) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {name: field(form, name) for name in ("title", "body", "category", "suggestion")}


async def new_form(request: Request) -> Response:
    _require_writer(request)
    values = {"title": "", "body": "", "category": "", "suggestion": ""}
    suggestion_id = request.query_params.get("suggestion", "")
    if suggestion_id.isdigit():
        async with reading(request) as session:
            suggestion = await topic_service.get_suggestion_or_404(session, int(suggestion_id))
            values = await topic_service.draft_values(session, suggestion)
    return await _editor(request, article=None, values=values, errors={})


async def create(request: Request) -> Response:
    user = _require_writer(request)
    form = await read_form(request)
    values = _form_values(form)
    publish = field(form, "action") == "publish"
    key = formkeys.check_key(field(form, formkeys.FIELD))
    try:
        async with writing(request) as session:
            claimed = await formkeys.claim(session, user=user, key=key)  # first: a resubmission stops here
            category = await _category(session, values)
            suggestion = None
            if values["suggestion"].isdigit():
                suggestion = await topic_service.get_suggestion_or_404(session, int(values["suggestion"]))
            article = await service.create_article(
                session,
                author=user,
                title=values["title"],
                body=values["body"],
                category=category,
                suggestion=suggestion,
            )
            if publish:
                await service.publish(session, article, user=user)
            await formkeys.record(session, claimed, article_url(article))
    except ValidationError as exc:
        return await _editor(request, article=None, values=values, errors=exc.errors)
    return redirect(article_url(article))


async def edit_form(request: Request) -> Response:
    user = _require_writer(request)
    async with reading(request) as session:
        article = await service.get_article_or_404(session, request.path_params["article_id"], viewer=user)
    values = {
        "title": article.title,
        "body": article.body,
        "category": article.category.slug if article.category else "",
        "suggestion": "",
    }
    return await _editor(request, article=article, values=values, errors={})


async def edit(request: Request) -> Response:
    user = _require_writer(request)
    form = await read_form(request)
    values = _form_values(form)
    action = field(form, "action")
    try:
        async with writing(request) as session:
            article = await service.get_article_or_404(session, request.path_params["article_id"], viewer=user)
            category = await _category(session, values)
            await service.edit_article(
                session, article, editor=user, title=values["title"], body=values["body"], category=category
            )
            if action == "publish":
                await service.publish(session, article, user=user)
            elif action == "unpublish":
                await service.unpublish(session, article, user=user)
    except ValidationError as exc:
        async with reading(request) as session:
            article = await service.get_article_or_404(session, request.path_params["article_id"], viewer=user)
        return await _editor(request, article=article, values=values, errors=exc.errors)
    return redirect(article_url(article))


def _status_action(action):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        user = _require_writer(request)
        await read_form(request)
        async with writing(request) as session:
            article = await service.get_article_or_404(session, request.path_params["article_id"], viewer=user)
            await action(session, article, user=user)
        return redirect(article_url(article))

    return endpoint


# ---------------------------------------------------------------- feedback


async def feedback(request: Request) -> Response:
    user = current_user(request)
    form = await read_form(request)
    answer = field(form, "helped")
    if answer not in ("yes", "no"):
        return await _article_page(
            request,
            request.path_params["article_id"],
            status_code=422,
            feedback_error=_("Answer yes or no."),
        )
    async with writing(request) as session:
        article = await service.get_article_or_404(session, request.path_params["article_id"], viewer=user)
        await service.give_feedback(
            session, article, helped=answer == "yes", user=user, browser_key=_browser_key(request)
        )
    return redirect(article_url(article) + "#feedback")


# ---------------------------------------------------------------- threads answered by an article


async def link_thread(request: Request) -> Response:
    user = _require_writer(request)
    form = await read_form(request)
    raw = field(form, "article")
    async with writing(request) as session:
        thread = await thread_service.get_thread_or_404(session, request.path_params["thread_id"], viewer=user)
        article_id = service.article_id_from(raw)
        article = await session.get(Article, article_id) if article_id is not None else None
        if article is None or not article.published:
            raise ValidationError({"article": _("Enter the number or address of a published article.")})
        await service.link_thread(session, thread, article, user=user)
    return redirect(thread_url(thread) + "#kb-answer")


async def unlink_thread(request: Request) -> Response:
    user = _require_writer(request)
    await read_form(request)
    async with writing(request) as session:
        thread = await thread_service.get_thread_or_404(session, request.path_params["thread_id"], viewer=user)
        await service.unlink_thread(session, thread, user=user)
    return redirect(thread_url(thread))


# ---------------------------------------------------------------- synonyms


async def synonyms_form(request: Request) -> Response:
    _require_writer(request)
    async with reading(request) as session:
        text = await service.synonym_text(session)
    return render(request, "kb/synonyms.html", text=text, errors={}, saved=request.query_params.get("saved") == "1")


async def synonyms_save(request: Request) -> Response:
    user = _require_writer(request)
    form = await read_form(request)
    text = field(form, "synonyms")
    try:
        async with writing(request) as session:
            await service.save_synonyms(session, text, user=user)
    except ValidationError as exc:
        return render(request, "kb/synonyms.html", status_code=422, text=text, errors=exc.errors, saved=False)
    return redirect("/kb/synonyms?saved=1")


routes = [
    Route("/kb", article_list, methods=["GET"], name="kb:list"),
    Route("/kb/new", new_form, methods=["GET"], name="kb:new-form"),
    Route("/kb/new", create, methods=["POST"], name="kb:create"),
    Route("/kb/synonyms", synonyms_form, methods=["GET"], name="kb:synonyms-form"),
    Route("/kb/synonyms", synonyms_save, methods=["POST"], name="kb:synonyms"),
    Route("/kb/{article_id:int}", article_bare, methods=["GET"], name="kb:article-bare"),
    Route("/kb/{article_id:int}/edit", edit_form, methods=["GET"], name="kb:edit-form"),
    Route("/kb/{article_id:int}/edit", edit, methods=["POST"], name="kb:edit"),
    Route("/kb/{article_id:int}/publish", _status_action(service.publish), methods=["POST"], name="kb:publish"),
    Route("/kb/{article_id:int}/unpublish", _status_action(service.unpublish), methods=["POST"], name="kb:unpublish"),
    Route("/kb/{article_id:int}/feedback", feedback, methods=["POST"], name="kb:feedback"),
    Route("/kb/{article_id:int}/{slug}", article_detail, methods=["GET"], name="kb:article"),
    Route("/t/{thread_id:int}/article", link_thread, methods=["POST"], name="kb:link-thread"),
    Route("/t/{thread_id:int}/article/unlink", unlink_thread, methods=["POST"], name="kb:unlink-thread"),
]

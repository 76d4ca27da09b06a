"""robots.txt, the sitemaps and the RSS feeds: for search engines and feed
readers, the same for everyone (no cookie, cacheable by a proxy)."""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime as rfc2822
from urllib.parse import quote

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from forum.errors import NotFound
from forum.i18n import gettext as _
from forum.services import categories as category_service
from forum.services import feeds as service
from forum.urls import category_url, thread_url
from forum.web import PUBLIC_CACHE, absolute_url, reading

XML = "application/xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


def _xml(body: str, media_type: str = XML) -> Response:
    return Response(body, media_type=media_type, headers={"cache-control": PUBLIC_CACHE})


async def robots(request: Request) -> Response:
    """Crawlers may read the forum, not the staff, account or API pages."""
    lines = ["User-agent: *"]
    lines += [f"Disallow: {p}" for p in ("/admin/", "/mod/", "/support", "/topics", "/api/", "/me/", "/search")]
    lines += [f"Disallow: {p}" for p in ("/login", "/signup", "/password/", "/notifications", "/ask")]
    lines.append(f"Sitemap: {absolute_url(request, '/sitemap.xml')}")
    return PlainTextResponse("\n".join(lines) + "\n", headers={"cache-control": PUBLIC_CACHE})


async def sitemap_index(request: Request) -> Response:
    """The index: the pages file, then one file per 50,000 thread ids."""
    async with reading(request) as session:
        files = await service.sitemap_files(session)
    names = ["/sitemap-pages.xml", *(f"/sitemap-threads-{n}.xml" for n in range(1, files + 1))]
    entries = "".join(f"<sitemap><loc>{escape(absolute_url(request, name))}</loc></sitemap>" for name in names)
    return _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>\n'
    )


def _urlset(urls: list[tuple[str, str | None]]) -> Response:
    items = "".join(
        f"<url><loc>{escape(loc)}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>"
        for loc, lastmod in urls
    )
    return _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>\n'
    )


async def sitemap_pages(request: Request) -> Response:
    async with reading(request) as session:
        cats = await category_service.category_rows(session)
    paths = ["/", "/kb", *(category_url(c) for c in cats)]  # type: ignore[arg-type]
    return _urlset([(absolute_url(request, p), None) for p in paths])


async def sitemap_threads(request: Request) -> Response:
    number = request.path_params["number"]
    async with reading(request) as session:
        if not 1 <= number <= await service.sitemap_files(session):
            raise NotFound(_("No such sitemap."))
        entries = await service.sitemap_threads(session, number)
    return _urlset(
        [
            (absolute_url(request, f"/t/{e.id}/{quote(e.slug)}"), e.last_activity_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
            for e in entries
        ]
    )


def _rss(request: Request, *, title: str, link: str, items: list[service.FeedItem]) -> Response:
    parts = []
    for item in items:
        url = absolute_url(request, thread_url(item.thread))
        date = rfc2822(item.thread.created_at.replace(tzinfo=UTC))
        parts.append(
            f"<item><title>{escape(item.thread.title)}</title><link>{escape(url)}</link>"
            f'<guid isPermaLink="true">{escape(url)}</guid><pubDate>{date}</pubDate>'
            f"<category>{escape(item.thread.category.name_en)}</category>"
            f"<description>{escape(item.description)}</description></item>"
        )
    return _xml(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>{escape(absolute_url(request, link))}</link>"
        f"<description>{escape(title)}</description>" + "".join(parts) + "</channel></rss>\n",
        RSS,
    )


async def latest_rss(request: Request) -> Response:
    async with reading(request) as session:
        items = await service.feed(session)
    return _rss(request, title=_("Cloudnote Community"), link="/", items=items)


async def category_rss(request: Request) -> Response:
    async with reading(request) as session:
        category = category_service.pick_or_404(
            await category_service.category_rows(session), request.path_params["slug"]
        )
        items = await service.feed(session, category_id=category.id)
    return _rss(
        request,
        title=f"{category.name(request.state.locale)} · {_('Cloudnote Community')}",
        link=category_url(category),  # type: ignore[arg-type]
        items=items,
    )


routes = [
    Route("/robots.txt", robots, name="feeds:robots"),
    Route("/sitemap.xml", sitemap_index, name="feeds:sitemap"),
    Route("/sitemap-pages.xml", sitemap_pages, name="feeds:sitemap-pages"),
    Route("/sitemap-threads-{number:int}.xml", sitemap_threads, name="feeds:sitemap-threads"),
    Route("/latest.rss", latest_rss, name="feeds:latest"),
    Route("/c/{slug}.rss", category_rss, name="feeds:category"),
]

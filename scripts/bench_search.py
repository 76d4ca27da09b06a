"""Search benchmark: builds a forum of 100,000 threads / 1,000,000 posts of mixed
Korean and English support text, indexes it with the real indexing code
(``forum.search.reindex_all``), then times typical searches through the real
service (``forum.search.search``: matching, ranking, loading, snippets).

    .venv/bin/python scripts/bench_search.py                       # SQLite in /tmp
    .venv/bin/python scripts/bench_search.py --database-url postgresql://postgres@127.0.0.1/forum_bench
    .venv/bin/python scripts/bench_search.py --threads 10000      # smaller
    .venv/bin/python scripts/bench_search.py --reuse              # skip the build, time queries only

Not a test: it prints figures. The database named is dropped and rebuilt
unless --reuse is given.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

from forum import migrations, search
from forum.clock import utcnow
from forum.db import is_sqlite, make_async_engine, make_sessionmaker, make_sync_engine
from forum.models import Category, Post, Thread, User

# ---------------------------------------------------------------- vocabulary

KO_NOUNS = [
    "환불",
    "결제",
    "로그인",
    "비밀번호",
    "앱",
    "동기화",
    "알림",
    "계정",
    "구독",
    "요금제",
    "카드",
    "업데이트",
    "오류",
    "설치",
    "파일",
    "업로드",
    "다운로드",
    "노트",
    "폴더",
    "공유",
    "백업",
    "복원",
    "삭제",
    "휴지통",
    "검색",
    "태그",
    "첨부파일",
    "이미지",
    "사진",
    "동영상",
    "캘린더",
    "일정",
    "메모",
    "템플릿",
    "위젯",
    "단축키",
    "다크모드",
    "글꼴",
    "언어",
    "설정",
    "프로필",
    "이메일",
    "인증",
    "인증번호",
    "보안",
    "암호",
    "기기",
    "스마트폰",
    "태블릿",
    "노트북",
    "컴퓨터",
    "브라우저",
    "확장프로그램",
    "네트워크",
    "와이파이",
    "서버",
    "속도",
    "용량",
    "저장공간",
    "무료",
    "유료",
    "프리미엄",
    "플랜",
    "팀",
    "워크스페이스",
    "멤버",
    "초대",
    "권한",
    "관리자",
    "영수증",
    "세금계산서",
    "청구서",
    "할인",
    "쿠폰",
    "프로모션",
    "체험판",
    "해지",
    "탈퇴",
    "고객센터",
    "문의",
    "답변",
    "화면",
    "버튼",
    "메뉴",
    "사이드바",
    "편집기",
    "서식",
    "표",
    "링크",
    "인쇄",
    "내보내기",
    "가져오기",
    "연동",
    "잠금",
    "지문",
    "얼굴인식",
    "자동저장",
    "버전",
    "기록",
    "충돌",
    "중복",
    "배터리",
]
KO_SHORT = ["폰", "맥", "칩", "탭", "창", "글", "키", "펜", "밤", "줄"]
EN_NOUNS = [
    "account",
    "password",
    "app",
    "note",
    "notebook",
    "folder",
    "file",
    "attachment",
    "backup",
    "sync",
    "subscription",
    "plan",
    "invoice",
    "receipt",
    "card",
    "payment",
    "refund",
    "widget",
    "calendar",
    "reminder",
    "tag",
    "search",
    "template",
    "export",
    "import",
    "editor",
    "shortcut",
    "theme",
    "font",
    "language",
    "profile",
    "email",
    "device",
    "phone",
    "tablet",
    "laptop",
    "browser",
    "extension",
    "network",
    "server",
    "storage",
    "workspace",
    "team",
    "member",
    "invite",
    "permission",
    "admin",
    "coupon",
    "discount",
    "trial",
    "screen",
    "button",
    "menu",
    "sidebar",
    "table",
    "link",
    "printer",
    "version",
    "history",
    "conflict",
]
EN_VERBS = [
    ("refund", "refunds", "refunded", "refunding"),
    ("sync", "syncs", "synced", "syncing"),
    ("reset", "resets", "reset", "resetting"),
    ("export", "exports", "exported", "exporting"),
    ("import", "imports", "imported", "importing"),
    ("delete", "deletes", "deleted", "deleting"),
    ("restore", "restores", "restored", "restoring"),
    ("cancel", "cancels", "cancelled", "cancelling"),
    ("upgrade", "upgrades", "upgraded", "upgrading"),
    ("install", "installs", "installed", "installing"),
    ("update", "updates", "updated", "updating"),
    ("share", "shares", "shared", "sharing"),
    ("upload", "uploads", "uploaded", "uploading"),
    ("download", "downloads", "downloaded", "downloading"),
    ("charge", "charges", "charged", "charging"),
    ("crash", "crashes", "crashed", "crashing"),
    ("open", "opens", "opened", "opening"),
    ("verify", "verifies", "verified", "verifying"),
]
DEVICES = ["iPhone", "Android", "Galaxy", "iPad", "Windows", "macOS", "Chrome", "Safari", "Firefox", "Linux", "Pixel"]
KO_TEMPLATES = [
    "{n:이가} 안 돼요.",
    "{n:이가} 안돼요 ㅠㅠ",
    "{n:을를} 했는데 아직 처리가 안 됐어요.",
    "{n:을를} 하고 싶은데 어떻게 하나요?",
    "{n:은는} 어디서 확인할 수 있나요?",
    "{n}에서 계속 오류가 나요.",
    "{n} {m} 문제로 문의드립니다.",
    "어제부터 {n:이가} 갑자기 사라졌어요.",
    "{n} 설정에서 {m:을를} 바꿔 보세요.",
    "{n:이가} 너무 느려요.",
    "저도 {n} 때문에 같은 문제가 있어요.",
    "{n:을를} 다시 설치하니까 해결됐어요.",
    "{n} {m:이가} 자꾸 튕겨요.",
    "{d}에서 {n:이가} 안 보여요.",
    "{d} 앱에서 {n:을를} 열면 멈춰요.",
    "{n:을를} 했는데 환불 받을 수 있을까요?",
    "고객센터에 {n} 관련해서 문의했는데 답변이 없어요.",
    "{n:와과} {m:이가} 연동이 안 됩니다.",
    "{n} 기능은 유료 플랜에서만 쓸 수 있습니다.",
    "{e} 오류 코드가 떠요.",
    "{n:을를} 삭제했는데 복원할 수 있나요?",
    "설정 > {n} 메뉴에서 {m:을를} 켜 주세요.",
]
KO_TITLES = [
    "{n:이가} 안 돼요",
    "{n} 오류 문의",
    "{n:을를} 어떻게 하나요?",
    "{d}에서 {n} 문제",
    "{n} {m} 관련 질문",
    "{n:이가} 자꾸 튕겨요",
    "{n} 환불 받을 수 있나요",
    "{n:을를} 바꾸고 싶어요",
]
EN_TEMPLATES = [
    "I can't {v} my {n}.",
    "The {n} is not working after the update.",
    "How do I {v} the {n} on {d}?",
    "My {n} was {ved} twice this month.",
    "Is there a way to {v} {n}s from {d}?",
    "Try {ving} the {n} from the settings page.",
    "The app {vs} every time I open the {n}.",
    "Thanks, {ving} the {n} fixed it.",
    "Same problem here with the {n} on {d}.",
    "Error {e} when I {v} a {n}.",
    "Support {ved} my {n} after two days.",
]
EN_TITLES = [
    "Can't {v} {n}",
    "{n} not working on {d}",
    "How to {v} my {n}?",
    "{n} {ved} twice",
    "Error {e} while {ving} {n}",
]
FILLERS_KO = ["안녕하세요.", "감사합니다.", "확인 부탁드립니다.", "혹시 아시는 분 계신가요?", "답변 감사해요!"]
FILLERS_EN = ["Hi all.", "Thanks in advance.", "Any ideas?", "Thanks!", "That worked for me."]


def _batchim(word: str) -> bool:
    last = word[-1]
    code = ord(last) - 0xAC00
    return 0 <= code < 11172 and code % 28 != 0


def _with(word: str, pair: str) -> str:
    """Noun + the particle that fits it: 환불+을, 노트+를."""
    first, second = pair[0], pair[1]
    if pair == "와과":
        return word + ("과" if _batchim(word) else "와")
    if not ("\uac00" <= word[-1] <= "\ud7a3"):
        return word + second
    return word + (first if _batchim(word) else second)


class Writer:
    """Makes up support threads from the vocabulary, with a long tail of rare words."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = (
            "가나다라마바사아자차카타파하고노도로모보소오조코토포호구누두루무부수우주쿠투푸후기니디리미비시이지키티피히"
        )
        self.rare = ["".join(self.rng.choice(syllables) for _ in range(self.rng.randint(2, 3))) for _ in range(3000)]
        self.rare_en = [
            "".join(self.rng.choice("bcdfghklmnprstvz") + self.rng.choice("aeiou") for _ in range(3))
            for _ in range(3000)
        ]
        self.ko_weights = [1 / (i + 1) ** 0.9 for i in range(len(KO_NOUNS))]
        self.en_weights = [1 / (i + 1) ** 0.9 for i in range(len(EN_NOUNS))]

    def _ko_noun(self, topic: list[str]) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(topic)
        if r < 0.9:
            return self.rng.choices(KO_NOUNS, self.ko_weights)[0]
        if r < 0.95:
            return self.rng.choice(KO_SHORT)
        return self.rng.choice(self.rare)

    def _en_noun(self, topic: list[str]) -> str:
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(topic)
        if r < 0.93:
            return self.rng.choices(EN_NOUNS, self.en_weights)[0]
        return self.rng.choice(self.rare_en)

    def _fill(self, template: str, ko: bool, topic: list[str]) -> str:
        out = template
        for slot in ("n", "m"):
            noun = self._ko_noun(topic) if ko else self._en_noun(topic)
            if ko and self.rng.random() < 0.08:
                noun = self._en_noun(EN_NOUNS[:5])  # code-switching: "sync 기능이"
            for pair in ("이가", "을를", "은는", "와과"):
                out = out.replace("{" + slot + ":" + pair + "}", _with(noun, pair))
            out = out.replace("{" + slot + "}", noun)
        verb = self.rng.choice(EN_VERBS)
        out = out.replace("{v}", verb[0]).replace("{vs}", verb[1]).replace("{ved}", verb[2]).replace("{ving}", verb[3])
        out = out.replace("{d}", self.rng.choice(DEVICES))
        return out.replace("{e}", f"E{self.rng.randint(1000, 9999)}")

    def thread(self) -> tuple[str, list[str], str]:
        ko = self.rng.random() < 0.7
        topic = self.rng.sample(KO_NOUNS if ko else EN_NOUNS, 2)
        title = self._fill(self.rng.choice(KO_TITLES if ko else EN_TITLES), ko, topic)
        posts = []
        for _ in range(self.rng.choice((5, 7, 8, 9, 10, 10, 11, 12, 13, 15))):
            post_ko = ko if self.rng.random() < 0.9 else not ko
            templates = KO_TEMPLATES if post_ko else EN_TEMPLATES
            sentences = [self._fill(self.rng.choice(templates), post_ko, topic) for _ in range(self.rng.randint(1, 4))]
            if self.rng.random() < 0.4:
                sentences.insert(0, self.rng.choice(FILLERS_KO if post_ko else FILLERS_EN))
            posts.append(" ".join(sentences))
        return title, posts, "ko" if ko else "en"


QUERIES = [
    # Korean words, phrases and spacing variants
    "환불",
    "환불 받을 수 있나요",
    "로그인이 안돼요",
    "로그인 이 안 돼요",
    "비밀번호 재설정",
    "동기화 오류",
    "앱이 자꾸 튕겨요",
    "요금제 변경",
    "첨부파일 업로드",
    "계정 탈퇴",
    "저장공간 부족",
    # one and two Hangul syllables
    "앱",
    "폰",
    "맥",
    "결제",
    "백업",
    "폴더",
    # English
    "refund",
    "refunded twice",
    "password reset",
    "sync not working",
    "export pdf",
    "cancel subscription",
    "invoice",
    # mixed Korean-English
    "iPhone 동기화",
    "Android 알림",
    "Windows 설치 오류",
    "sync 기능",
    # rare words
    "E4012",
    "캘린더 위젯",
]

# ---------------------------------------------------------------- building


def fresh_database(url: str) -> None:
    if is_sqlite(url):
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        u = make_url(url)
        admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{u.database}"')  # type: ignore[arg-type]
    migrations.upgrade(url)


def build(url: str, n_threads: int, seed: int) -> tuple[int, float]:
    """Bulk-inserts users, categories, threads and posts; returns (posts, seconds)."""
    started = time.monotonic()
    engine = make_sync_engine(url)
    writer = Writer(seed)
    now = utcnow()
    posts_total = 0
    with engine.begin() as conn:
        conn.execute(
            insert(User.__table__),  # type: ignore[attr-defined]
            [
                {
                    "username": f"bench{i}",
                    "username_key": f"bench{i}",
                    "display_name": f"Bench {i}",
                    "password_hash": "x",
                    "role": "staff" if i < 20 else "member",
                    "created_at": now,
                }
                for i in range(1000)
            ],
        )
        conn.execute(
            insert(Category.__table__),  # type: ignore[attr-defined]
            [{"slug": f"c{i}", "name_en": f"Category {i}", "name_ko": f"분류 {i}", "position": i} for i in range(10)],
        )
        user_ids = [r[0] for r in conn.execute(select(User.id))]
        category_ids = [r[0] for r in conn.execute(select(Category.id))]
    rng = random.Random(seed + 1)
    chunk = 5000
    for start in range(0, n_threads, chunk):
        made = [writer.thread() for _ in range(min(chunk, n_threads - start))]
        with engine.begin() as conn:
            first_id = (conn.execute(select(func.max(Thread.id))).scalar() or 0) + 1
            thread_rows, post_rows = [], []
            for offset, (title, bodies, _lang) in enumerate(made):
                created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 700))
                solved = rng.random() < 0.35
                thread_rows.append(
                    {
                        "id": first_id + offset,
                        "category_id": rng.choice(category_ids),
                        "author_id": rng.choice(user_ids),
                        "kind": "question" if rng.random() < 0.85 else "discussion",
                        "title": title[:300],
                        "slug": "t",
                        "created_at": created,
                        "last_activity_at": created + timedelta(hours=len(bodies)),
                        "views": rng.randint(0, 5000),
                        "reply_count": len(bodies) - 1,
                        "solved_at": created + timedelta(hours=2) if solved else None,
                        "staff_replied": rng.random() < 0.3,
                    }
                )
                for i, body in enumerate(bodies):
                    post_rows.append(
                        {
                            "thread_id": first_id + offset,
                            "author_id": rng.choice(user_ids),
                            "is_first": i == 0,
                            "body": body,
                            "body_html": f"<p>{body}</p>",
                            "by_staff": False,
                            "created_at": created + timedelta(hours=i),
                        }
                    )
            conn.execute(insert(Thread.__table__), thread_rows)  # type: ignore[attr-defined]
            conn.execute(insert(Post.__table__), post_rows)  # type: ignore[attr-defined]
            posts_total += len(post_rows)
        print(f"  {start + len(made):,} threads, {posts_total:,} posts", file=sys.stderr, flush=True)
    if not is_sqlite(url):
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('threads', 'id'), (SELECT max(id) FROM threads))"))
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return posts_total, time.monotonic() - started


async def index(url: str) -> tuple[int, float]:
    engine = make_async_engine(url)
    started = time.monotonic()
    async with make_sessionmaker(engine).begin() as session:
        done = await search.reindex_all(session, batch_size=500)
    elapsed = time.monotonic() - started
    await engine.dispose()
    return done, elapsed


def _p95(sorted_times: list[float]) -> float:
    """Nearest rank."""
    return sorted_times[max(0, math.ceil(0.95 * len(sorted_times)) - 1)]


async def time_queries(url: str, repeats: int) -> None:
    engine = make_async_engine(url)
    sessionmaker = make_sessionmaker(engine)
    timings: dict[str, list[float]] = {q: [] for q in QUERIES}
    totals: dict[str, int] = {}
    async with sessionmaker() as session:
        await search.search(session, "warm up 환불")
        for round_ in range(repeats + 1):
            for q in QUERIES:
                started = time.perf_counter()
                results = await search.search(session, q)
                elapsed = (time.perf_counter() - started) * 1000
                if round_:  # the first round warms the caches
                    timings[q].append(elapsed)
                totals[q] = results.total
    await engine.dispose()
    all_times = sorted(t for ts in timings.values() for t in ts)
    print(f"\n{'query':<28} {'matches':>8} {'median ms':>10} {'p95 ms':>8}")
    for q in QUERIES:
        ts = sorted(timings[q])
        more = "+" if totals[q] >= search.COUNT_CAP else ""
        print(f"{q:<28} {str(totals[q]) + more:>8} {statistics.median(ts):>10.1f} {_p95(ts):>8.1f}")
    p95 = _p95(all_times)
    print(f"\nALL {len(all_times)} searches: median {statistics.median(all_times):.1f} ms, p95 {p95:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:////tmp/forum_bench_search.db")
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--reuse", action="store_true", help="time queries on an existing benchmark database")
    args = parser.parse_args()
    url = args.database_url
    print(f"database: {make_url(url).render_as_string(hide_password=True)}")
    if not args.reuse:
        fresh_database(url)
        posts, seconds = build(url, args.threads, args.seed)
        print(f"built {args.threads:,} threads / {posts:,} posts in {seconds:.0f}s")
        done, seconds = asyncio.run(index(url))
        print(f"indexed {done:,} threads ({posts:,} posts) in {seconds:.0f}s ({posts / seconds:,.0f} posts/s)")
    asyncio.run(time_queries(url, args.repeats))


if __name__ == "__main__":
    main()

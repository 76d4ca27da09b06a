from datetime import timedelta

from forum import i18n
from forum.clock import utcnow
from forum.i18n_extract import messages


def test_every_message_has_a_korean_translation():
    korean = i18n.catalogue("ko")
    missing = sorted(m for m in messages() if m not in korean)
    assert not missing, f"{len(missing)} messages lack a Korean translation, e.g. {missing[:10]}"


def test_korean_translations_keep_their_placeholders():
    korean = i18n.catalogue("ko")
    import re

    placeholder = re.compile(r"%\((\w+)\)s")
    for msgid, ids in messages().items():
        translated = korean.get(msgid)
        if translated is None:
            continue
        texts = translated if isinstance(translated, tuple) else (translated,)
        wanted = set(placeholder.findall(" ".join(ids)))
        for text in texts:
            assert set(placeholder.findall(text)) <= wanted | {"num"}, (msgid, text)


def test_accept_language_picks_the_best_supported_locale():
    assert i18n.negotiate("ko-KR,ko;q=0.9,en-US;q=0.8") == "ko"
    assert i18n.negotiate("fr-FR, en;q=0.5, ko;q=0.7") == "ko"
    assert i18n.negotiate("fr, de") is None
    assert i18n.negotiate("") is None
    assert i18n.negotiate("en;q=abc") is None


def test_dates_and_numbers_follow_the_locale():
    then = utcnow() - timedelta(hours=3)
    with i18n.using_locale("ko"):
        assert i18n.format_ago(then) == "3시간 전"
        assert i18n.format_number(1234567) == "1,234,567"
    with i18n.using_locale("en"):
        assert i18n.format_ago(then) == "3 hours ago"


def test_korean_times_say_오전_and_오후_and_days_stand_alone():
    from datetime import datetime

    afternoon, morning = datetime(2026, 12, 5, 13, 5), datetime(2026, 12, 5, 9, 5)
    with i18n.using_locale("ko"):
        assert "오후 1:05" in i18n.format_datetime(afternoon) and "PM" not in i18n.format_datetime(afternoon)
        assert "오전 9:05" in i18n.format_datetime(morning)
        assert i18n.format_date(afternoon) == "2026년 12월 5일"
    with i18n.using_locale("en"):
        assert "PM" in i18n.format_datetime(afternoon)
        assert i18n.format_date(afternoon) == "December 5, 2026"


def test_a_time_to_the_minute_drops_the_seconds_in_either_language():
    from datetime import datetime

    at = datetime(2026, 12, 5, 13, 5, 42)
    with i18n.using_locale("en"):
        assert (
            i18n.format_datetime(at, "minutes") == "Dec 5, 2026, 1:05\u202fPM"
        )  # CLDR puts a narrow no-break space before PM
    with i18n.using_locale("ko"):
        assert i18n.format_datetime(at, "minutes") == "2026. 12. 5. 오후 1:05"

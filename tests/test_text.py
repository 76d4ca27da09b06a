"""The shared analyser: Korean morphemes, English stemming, synonyms."""

from forum.text import Analyzer, Synonyms, get_analyzer


def analyzer_with(*lines):
    return Analyzer(Synonyms.from_lines(list(lines)))


def test_korean_particles_are_dropped_so_inflected_forms_share_one_term():
    a = analyzer_with()
    assert "환불" in a.terms("환불을 받고 싶어요")
    assert "환불" in a.terms("환불이 안 돼요")
    assert "환불" in a.terms("환불은 언제 되나요")


def test_korean_verbs_are_reduced_to_their_stem():
    a = analyzer_with()
    assert "튕기" in a.terms("앱이 자꾸 튕겨요")
    assert "튕기" in a.terms("튕기는 문제")


def test_english_words_are_lowercased_and_stemmed():
    a = analyzer_with()
    assert a.terms("Refunds") == a.terms("refunded") == a.terms("refund")


def test_english_stop_words_are_dropped_but_negation_and_particles_stay():
    a = analyzer_with()
    terms = a.terms("I can't sign in to the app")
    assert "not" in terms and "in" in terms
    assert "the" not in terms and "to" not in terms


def test_numbers_are_kept():
    assert "404" in analyzer_with().terms("404 error on page")


def test_mixed_korean_and_english_text_gives_terms_of_both():
    terms = analyzer_with().terms("API key를 재발급하고 싶어요")
    assert "api" in terms and "key" in terms
    assert "재발급" in terms


def test_analysis_is_deterministic():
    a = analyzer_with()
    text = "로그인이 안 되고 password reset 메일도 안 와요"
    assert a.terms(text) == a.terms(text) == a.terms_many([text])[0]


def test_synonym_variants_collapse_to_one_concept_in_both_languages():
    a = analyzer_with("refund, money back, 환불, 돈 돌려받기, 환급")
    concepts = {tuple(a.expand(a.terms(t))) for t in ["환불", "돈 돌려받기", "환급", "refund", "money back"]}
    assert len(concepts) == 1


def test_multi_word_variant_matches_inside_a_longer_sentence():
    a = analyzer_with("crash, 튕기다, 강제 종료")
    out = a.expand(a.terms("게임하다가 강제로 종료돼요"))
    assert "~crash" in out


def test_terms_outside_the_dictionary_pass_through_expand_unchanged():
    a = analyzer_with("refund, 환불")
    assert a.expand(["invoice", "환불"]) == ["invoice", "~refund"]


def test_staff_lines_extend_a_shipped_group_by_repeating_one_of_its_variants():
    syn = Synonyms.from_lines(["refund, 환불", "환불, 반환금"])
    a = Analyzer(syn)
    assert a.expand(a.terms("반환금")) == a.expand(a.terms("refund"))


def test_comments_and_blank_lines_in_the_synonym_file_are_ignored():
    syn = Synonyms.from_lines(["# a comment", "", "login, 로그인  # trailing comment"])
    assert len(syn) == 1


def test_a_variant_that_is_only_a_negation_is_not_used():
    a = analyzer_with("late delivery, 안 오다")
    assert a.expand(["not"]) == ["not"]


def test_the_shipped_dictionary_links_common_korean_and_english_support_words():
    a = get_analyzer()
    same = lambda x, y: a.expand(a.terms(x)) == a.expand(a.terms(y))  # noqa: E731
    assert same("비번", "password")
    assert same("영수증", "invoice")
    assert same("탈퇴", "delete account")
    assert same("로그인", "log in")


def test_search_can_expand_a_query_concept_into_its_variants():
    a = analyzer_with("refund, 환불, money back")
    alternatives = a.expand_query(a.terms("환불"))
    assert len(alternatives) == 1 and "money back" in alternatives[0]


def test_spacing_variants_give_the_same_terms():
    a = Analyzer(Synonyms.from_lines(["login, 로그인"]))
    assert a.expand(a.terms("로그인이 안돼요")) == a.expand(a.terms("로그인 이 안 돼요"))


def test_a_compound_variant_matches_whether_kiwi_splits_it_or_not():
    a = Analyzer(Synonyms.from_lines(["password, 비밀번호"]))
    for text in ["비밀번호", "비밀번호 규칙이 까다로워요", "비밀번호라고 나와요"]:
        assert "~password" in a.expand(a.terms(text)), text


def test_a_phrase_that_analysis_reduces_to_one_plain_word_does_not_capture_it():
    # "두 번 결제" analyses to just 결제: it must not turn every 결제 into "double charge"
    a = Analyzer(Synonyms.from_lines(["double charge, 두 번 결제, 중복 결제", "payment, 결제"]))
    assert a.expand(a.terms("결제")) == ["~payment"]
    assert a.expand(a.terms("중복 결제")) == ["~doubl_charg"]


def test_the_synonym_variants_terms_are_kept_for_the_next_process(tmp_path, monkeypatch):
    import forum.text as text

    monkeypatch.setenv("FORUM_DATA_DIR", str(tmp_path))
    first = analyzer_with("환불, 돈 돌려받다", "refund, money back")
    kept = list((tmp_path / "cache").glob("synonym-terms-*.json"))
    assert len(kept) == 1 and "돌려받다" in kept[0].read_text(encoding="utf-8")

    def no_kiwi():  # type: ignore[no-untyped-def]
        raise AssertionError("the kept terms should have spared the analysis")

    monkeypatch.setattr(text, "_shared_kiwi", no_kiwi)
    again = analyzer_with("환불, 돈 돌려받다", "refund, money back")  # compiles from the kept terms alone
    assert again.synonyms._table == first.synonyms._table
    monkeypatch.undo()

    monkeypatch.setenv("FORUM_DATA_DIR", str(tmp_path))
    kept[0].write_text("{not json", encoding="utf-8")  # a damaged file is ignored and written again
    assert analyzer_with("환불, 돈 돌려받다").synonyms._table
    assert kept[0].read_text(encoding="utf-8").startswith("{")
    assert "{not json" not in kept[0].read_text(encoding="utf-8")


def test_an_english_stem_is_shown_as_the_word_written_most():
    from forum.text import english_stem, written_forms

    assert english_stem("Accidentally") == "accident"
    assert english_stem("환불") == "환불"
    texts = ["I was reimbursed", "Reimbursement took a week", "my reimbursement", "Accidentally paid"]
    assert written_forms(texts, {"reimburs", "accident", "nowhere"}) == {
        "reimburs": "reimbursement",
        "accident": "accidentally",
    }

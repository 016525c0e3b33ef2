"""The checker's rules, one behaviour per test."""

from __future__ import annotations

import pytest

from shared.moderation import normalize as nz
from shared.moderation.matcher import Matcher, Term


def verdict(matcher, tag):
    return matcher.check(tag).verdict


@pytest.mark.parametrize("tag, normalized", [
    ("#FuCk", "fuck"), ("ｆｕｃｋ", "fuck"), ("fu\u200bck", "fuck"), ("Café", "cafe"), ("Ёлка", "елка"),
    ("#застрахуй", "застрахуй"),
])
def test_tags_are_stored_under_one_normalized_form(tag, normalized):
    assert nz.normalize_tag(tag) == normalized


@pytest.mark.parametrize("tag, folded", [
    ("xyй", "хуй"), ("fuсk", "fuck"), ("пиzдец", "пиздец"), ("p0rn", "porn"), ("6лядь", "блядь"),
    ("3.14здец", "пиздец"), ("a$$hole", "asshole"), ("х*й", "х*й"),
])
def test_pieces_are_folded_to_their_dominant_script_with_leetspeak_resolved(tag, folded):
    pieces = nz.split_pieces(nz.normalize_tag(tag))
    assert "".join(nz.fold_piece(piece) for piece in pieces) == folded


def test_letters_spelled_out_with_separators_are_one_word():
    assert [p.raw for p in nz.split_pieces("f.u.c.k_this")] == ["fuck", "this"]


@pytest.mark.parametrize("latin, cyrillic", [("blyad", "бляд"), ("khuy", "хуй"), ("pizdec", "пиздец"),
                                             ("zaebal", "заебал")])
def test_latin_is_read_as_transliterated_russian(latin, cyrillic):
    assert nz.translit_lat_to_cyr(latin) == cyrillic


def test_stretched_letters_match_but_real_double_letters_do_not_stand_for_single_ones(seed_matcher):
    assert verdict(seed_matcher, "fuuuuck") == "rejected"
    assert verdict(seed_matcher, "shiitake") == "approved"
    assert verdict(seed_matcher, "bulshit") == "rejected"


def test_risky_short_words_count_only_as_whole_words(seed_matcher):
    for innocent in ("cocktail", "peacock", "assassin", "classicrock", "titanic", "analytics"):
        assert verdict(seed_matcher, innocent) == "approved", innocent
    assert verdict(seed_matcher, "cock") != "approved"
    assert verdict(seed_matcher, "big_cock") != "approved"
    assert verdict(seed_matcher, "bigcock") != "approved"   # glued dictionary words: big + cock


def test_dictionary_words_that_merely_contain_a_term_pass(seed_matcher):
    assert verdict(seed_matcher, "therapist") == "approved"          # English dictionary
    assert verdict(seed_matcher, "застрахуй") == "approved"          # pymorphy3: застраховать
    assert verdict(seed_matcher, "хлебзавтрак") == "approved"        # glued known words: хлеб + завтрак
    assert verdict(seed_matcher, "хуйня") == "rejected"               # known, but slang


def test_russian_prefixes_start_a_word_and_words_that_only_contain_the_root_do_not(seed_matcher):
    assert verdict(seed_matcher, "заебал") == "rejected"
    assert verdict(seed_matcher, "отъебись") == "rejected"
    for innocent in ("небо", "колебания", "дебаты", "себя", "потребитель"):
        assert verdict(seed_matcher, innocent) == "approved", innocent


def test_english_words_are_not_read_as_transliterated_russian(seed_matcher):
    for innocent in ("debate", "rebate", "webdesign", "sukiyaki"):
        assert verdict(seed_matcher, innocent) == "approved", innocent
    assert verdict(seed_matcher, "nahui") == "rejected"
    assert verdict(seed_matcher, "cyka") == "rejected"


def test_masks_hide_one_or_two_letters(seed_matcher):
    assert verdict(seed_matcher, "f*ck") == "rejected"
    assert verdict(seed_matcher, "f**k") == "rejected"
    assert verdict(seed_matcher, "х*й") == "rejected"
    assert verdict(seed_matcher, "***") == "approved"


def test_the_allowlist_covers_innocent_words_no_dictionary_knows():
    terms = [Term("shit", "profanity", "high", "sub")]
    assert Matcher(terms).check("shitterton").verdict == "rejected"
    assert Matcher(terms, ["shitterton"]).check("shitterton").verdict == "approved"
    assert Matcher(terms, ["shitterton"]).check("shit_shitterton").verdict == "rejected"


def test_severity_decides_between_rejected_and_needs_review_and_the_reason_names_the_term(seed_matcher):
    result = seed_matcher.check("p0rn")
    assert result.verdict == "rejected" and result.top.term.term == "porn" and result.top.view == "normalized"
    assert "porn" in result.reason
    review = seed_matcher.check("sexy")
    assert review.verdict == "needs_review" and "moderator will review" in review.reason
    assert seed_matcher.check("travel").reason is None


def test_the_view_tells_how_the_term_was_found(seed_matcher):
    assert seed_matcher.check("fuck").top.view == "plain"
    assert seed_matcher.check("blyad").top.view == "translit"
    assert seed_matcher.check("cyka").top.view == "lookalike"


@pytest.mark.parametrize("tag", [
    "ублюдки", "гниды", "падлы", "сучки",          # noun forms (pymorphy3 lexemes of the listed nouns)
    "говно", "залупа", "выблядок",                 # dictionary words whose lemma starts with a listed root
    "tvar", "mraz", "dermo", "svoloch",            # transliterations drop the soft sign
    "shalava", "huesos",                           # glued short English words lose to a Russian reading
    "мразь", "тварь", "сволочь", "дебил",          # common insults added from LDNOOBW and by the project
])
def test_russian_recall_common_nouns_their_forms_and_transliterations(seed_matcher, tag):
    assert verdict(seed_matcher, tag) != "approved", tag


@pytest.mark.parametrize("tag", [
    "трахея", "стервятник", "дерматолог", "упорный", "барсук", "сукно", "ебург", "webdesign", "debate",
])
def test_russian_recall_keeps_the_hard_negatives_clean(seed_matcher, tag):
    assert verdict(seed_matcher, tag) == "approved", tag


@pytest.mark.parametrize("tag", [
    "хуепутало", "долбодятел", "мудачок", "тварина", "мразина", "гнидина", "стервозина", "падлюга",
    "сволотина", "ублюдище", "ушлепище", "дебилоидный",   # slang pymorphy3 does not know, on listed roots
    "охуевать", "охуенный",                             # a root after a one-letter prefix (о|хуе)
    "трахнуть", "надрочил", "просрался",                # dictionary words whose lemma starts with a listed root
])
def test_russian_recall_slang_built_on_obscene_roots(seed_matcher, tag):
    assert verdict(seed_matcher, tag) != "approved", tag


def test_russian_recall_a_doubled_letter_before_a_root_keeps_its_prefix(seed_matcher):
    # "неебет" is collapsed to "н|ебет": the second "е" ends the prefix "не" and starts "еб".
    # (The dictionary split used to be read at shifted offsets after a double letter.)
    assert verdict(seed_matcher, "неебет") == "rejected"
    assert verdict(seed_matcher, "ниипет") == "approved"


@pytest.mark.parametrize("tag", [
    "shluha", "ubludok", "bladun",                    # u for ю, a for я after a consonant
    "bliad", "pizdiuk", "mudach'yo", "jebat",         # ia/iu for я/ю, an apostrophe for ь, je for е
    "jopa", "wluha", "su4ka",                         # j for ж, w for ш, 4 for ч
])
def test_russian_recall_transliteration_variants(seed_matcher, tag):
    assert verdict(seed_matcher, tag) != "approved", tag


@pytest.mark.parametrize("tag", ["ш/\\юха", "ху9", "}|{опа", "п1дор"])
def test_russian_recall_letters_drawn_with_symbols_and_digits(seed_matcher, tag):
    assert verdict(seed_matcher, tag) != "approved", tag


@pytest.mark.parametrize("tag", [
    # Innocent words with an obscene root's letters, found by running the checker over every lemma
    # pymorphy3 knows (see docs/MODERATION.md): the allowlist and the dictionary keep them clean.
    "себя", "рубля", "употреблять", "оскорблять", "скипидар", "мудрый", "мудрость", "премудрый", "страхуй",
    "застрахую", "страхование", "подстрахуй", "хулиган", "трахеит", "отвар", "утварь", "упорно", "спорный",
    "запорный", "сретение", "надебоширить", "сучок", "сравнение", "сражение", "срам", "команда", "мандарин",
    "педагог", "ухудшение", "вебинар", "остервенелый",
    # ... and their Latin spellings
    "strahovka", "mudryi", "sebya", "upotreblyat", "skipidar", "huligan", "otvar", "uporniy", "sravnenie",
    "srazu", "spalnika", "spetsifiki", "teplom",
])
def test_russian_recall_innocent_words_with_obscene_roots_pass(seed_matcher, tag):
    assert verdict(seed_matcher, tag) == "approved", tag


# -- issue 11, round 3: readings tuned on split 3's misses (the words here are not split 3's) ------

@pytest.mark.parametrize("tag", ["f0ck", "c0nt", "motherf0cker", "f0cking"])
def test_recall_round3_a_leet_digit_hides_a_vowel_in_short_english_words(seed_matcher, tag):
    # 0 read as "o" gives "fock"; read as a masked letter it is "f*ck".
    assert verdict(seed_matcher, tag) == "rejected", tag


@pytest.mark.parametrize("tag", ["sh00t", "c00k", "g00d", "l00k", "h8ers", "sk8er", "b4by", "2day", "fakti4eskoi"])
def test_recall_round3_leet_common_words_and_russian_4_stay_clean(seed_matcher, tag):
    # Common English words stay words; a digit hides a vowel only ("h8ers" is no "hooker");
    # "4" inside a long Latin word is Russian ч ("fakti4eskoi" = фактической), not a masked "titties".
    assert verdict(seed_matcher, tag) == "approved", tag


@pytest.mark.parametrize("tag", ["phuq", "phucking", "kuntz", "phukker"])
def test_recall_round3_phonetic_english_spellings(seed_matcher, tag):
    # ph = f, ck = k = q = c before a back vowel; "-ker" as "-ka".
    assert verdict(seed_matcher, tag) == "rejected", tag


@pytest.mark.parametrize("tag", ["pussycat", "kuntsevo", "phone", "skunk", "cocktail"])
def test_recall_round3_phonetic_reading_keeps_english_and_russian_words_clean(seed_matcher, tag):
    assert verdict(seed_matcher, tag) == "approved", tag


@pytest.mark.parametrize("tag", ["blyaaad", "bliaaadina"])
def test_recall_round3_stretched_letters_are_one_letter_before_transliteration(seed_matcher, tag):
    # "yaaa" is "ya" stretched: бляд, not бляаад.
    assert verdict(seed_matcher, tag) == "rejected", tag


def test_recall_round3_digits_in_a_look_alike_word_are_read_as_cyrillic(seed_matcher):
    result = seed_matcher.check("cy4ke")     # с у ч к е: 4 is ч in a word of look-alike letters
    assert result.verdict == "rejected" and result.top.view == "lookalike"


def test_recall_round3_a_leet_digit_in_a_rare_english_word_does_not_excuse_its_russian_reading(seed_matcher):
    assert verdict(seed_matcher, "hu1lo") == "rejected"     # хуило; "huilo" is no English word
    assert verdict(seed_matcher, "hu1") == "rejected"       # "hui" is a web2 word, but no common one
    assert verdict(seed_matcher, "hui") == "approved"       # unchanged: typed as the English word


@pytest.mark.parametrize("tag", ["бл@ть", "бл@дина"])
def test_recall_round3_a_leet_letter_in_a_cyrillic_word_reads_as_in_transliteration(seed_matcher, tag):
    # "@" is "а", and "а" after a consonant may stand for "я" (бл@ть = блять), as in Latin spellings.
    assert verdict(seed_matcher, tag) == "rejected", tag


def test_recall_round3_collective_nouns_of_listed_words(seed_matcher):
    assert verdict(seed_matcher, "жидьё") != "approved"
    assert verdict(seed_matcher, "шитьё") == "approved"    # sewing: an ordinary word, not "шит" + "ьё"


def test_recall_round3_roots_added_to_the_lexicon(seed_matcher):
    for tag in ("елдой", "чмошный", "говенный", "jackoff"):
        assert verdict(seed_matcher, tag) != "approved", tag
    for tag in ("велд", "разговение", "заговенье", "говенье"):
        assert verdict(seed_matcher, tag) == "approved", tag


@pytest.mark.parametrize("tag", ["хохлому", "хохломой"])
def test_recall_round3_a_form_of_a_listed_noun_matches_words_of_that_noun_only(seed_matcher, tag):
    # "хохлом" is a form of "хохол", but "хохлому" is a form of "хохлома", not of "хохол".
    assert verdict(seed_matcher, tag) == "approved", tag
    assert verdict(seed_matcher, "хохлами") != "approved"


def test_recall_round3_a_first_name_next_to_a_surname_is_a_name(seed_matcher):
    # Surnames pymorphy3 knows only as surnames, next to a first name it knows.
    assert verdict(seed_matcher, "александр_твардовский") == "approved"
    assert verdict(seed_matcher, "aleksandr_tvardovskiy") == "approved"
    assert verdict(seed_matcher, "твардовский") != "approved"     # alone, nothing says it is a name
    assert verdict(seed_matcher, "иван_тварь") != "approved"      # a first name does not excuse a word


@pytest.mark.parametrize("tag", ["мудбординг", "спидранер"])
def test_recall_round3_english_loanwords_in_cyrillic_are_not_russian_roots(seed_matcher, tag):
    # "moodboarding", "speedrunner" spelled the Russian way: no муд, no с|пидр.
    assert verdict(seed_matcher, tag) == "approved", tag
    assert verdict(seed_matcher, "мудачьё") != "approved"       # a Russian ending keeps the Russian reading


# -- round 4 (issue 11 item 8): words chosen outside split 4 where possible ----------------------

@pytest.mark.parametrize("tag", ["kinoshita", "huehuetenango", "kinoshitacafe", "kinoshita_2026"])
def test_precision_round4_a_place_name_is_not_flagged_for_a_sequence_inside_it(seed_matcher, tag):
    # GeoNames places (data/places.tsv): Kinoshita (Japan), Huehuetenango (Guatemala); glued to a clean word too.
    assert verdict(seed_matcher, tag) == "approved", tag


@pytest.mark.parametrize("tag", ["kinoshita_fuck", "kinoshitafuck", "fuckhuehuetenango", "k1noshita"])
def test_recall_round4_a_term_glued_to_a_place_name_still_matches(seed_matcher, tag):
    # Only what lies inside the name is excused, and only the name typed in plain letters.
    assert verdict(seed_matcher, tag) != "approved", tag


def test_precision_round4_the_gazetteer_is_a_small_vendored_file():
    from shared.moderation import gazetteer

    names = gazetteer.places()
    assert 100 < len(names) < 5000 and "kinoshita" in names
    assert not names & {"fuck", "shit", "хуй", "niger", "cumming", "huyen", "хухуй"}     # a term, inflected or read


@pytest.mark.parametrize("tag", ["btchs", "bllsht", "fckng", "dckhd", "блдь", "пзд"])
def test_recall_round4_vowel_less_spellings_of_high_severity_terms(seed_matcher, tag):
    assert verdict(seed_matcher, tag) == "rejected", tag


@pytest.mark.parametrize("tag", ["bbq", "lgbt", "dvd", "psst", "brrr", "cntrl", "twtr", "tsk", "мвд", "кпрф"])
def test_precision_round4_vowel_less_abbreviations_stay_clean(seed_matcher, tag):
    assert verdict(seed_matcher, tag) == "approved", tag


@pytest.mark.parametrize("tag", ["sonofabiatch", "biatches", "dumbazz", "jackazz"])
def test_recall_round4_iatch_eyotch_and_azz_spellings(seed_matcher, tag):
    assert verdict(seed_matcher, tag) != "approved", tag


@pytest.mark.parametrize("tag", ["jazz", "pizzeria", "rejisserskoi", "jazzhands"])
def test_precision_round4_zz_is_read_as_ss_only_after_a(seed_matcher, tag):
    # "rejisser" (режиссёр) would read as "jiss" if "jizz" were read as "jiss".
    assert verdict(seed_matcher, tag) == "approved", tag


def test_recall_round4_hushed_yo_spelled_o_in_listed_nouns(seed_matcher):
    # "сучоныш" is "сучёныш" (listed as "сученыш") with ё spelled о after ч.
    assert verdict(seed_matcher, "сучоныш") == "rejected"
    assert verdict(seed_matcher, "печенье") == "approved"

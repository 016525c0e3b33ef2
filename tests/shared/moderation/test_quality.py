"""Quality gates of the hashtag checker: labelled corpora and ordinary hashtags.

- ``data/dev_cases.jsonl``: the project's 132 labelled development cases (copied from the
  shared corpus). The lists and rules were tuned on it.
- ``data/heldout_cases.jsonl``: 102 cases written before the checker existed and evaluated
  once, after tuning; never used to tune (see docs/MODERATION.md).
- ``data/ru_dev_cases.jsonl``, ``data/ru_untuned_cases.jsonl``: Russian splits 1 and 2, both
  tuned on by now (split 2 in round 2).
- ``data/ru_heldout3_cases.jsonl``: Russian split 3, measured once untuned (the floor below),
  tuned on in round 3.
- ``data/heldout4_cases.jsonl``: split 4, measured once untuned (the floor below), tuned on in round 4.
- ``data/heldout5_cases.jsonl``: split 5, measured once untuned on round 4's code (the floor below);
  never tuned on.
- Ordinary hashtags: 3,000 tags glued from 1-3 dictionary words (English word lists, and
  Russian words attested in the OpenCorpora corpus that pymorphy3 ships), from a seed that
  was not used while tuning.
"""

from __future__ import annotations

import random

from shared.moderation.matcher import Matcher
from tests.shared.moderation.conftest import load_cases


def precision_recall(matcher: Matcher, cases: list[dict]) -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    misses = []
    for case in cases:
        flagged = matcher.check(case["tag"]).verdict != "approved"
        if flagged and case["forbidden"]:
            tp += 1
        elif flagged:
            fp += 1
            misses.append(f"false positive: {case['tag']}")
        elif case["forbidden"]:
            fn += 1
            misses.append(f"missed: {case['tag']} ({case['category']})")
    return tp / ((tp + fp) or 1), tp / ((tp + fn) or 1), misses


def test_precision_and_recall_on_the_development_corpus_are_at_least_097(seed_matcher):
    cases = load_cases("dev_cases.jsonl")
    assert len(cases) == 132
    precision, recall, misses = precision_recall(seed_matcher, cases)
    print(f"\ndev corpus ({len(cases)} tags): precision {precision:.3f}, recall {recall:.3f}; {misses}")
    assert precision >= 0.97 and recall >= 0.97, misses


def test_precision_and_recall_on_the_held_out_corpus_stay_where_they_were_measured(seed_matcher):
    cases = load_cases("heldout_cases.jsonl")
    precision, recall, misses = precision_recall(seed_matcher, cases)
    print(f"\nheld-out corpus ({len(cases)} tags): precision {precision:.3f}, recall {recall:.3f}; {misses}")
    assert precision >= HELDOUT_PRECISION and recall >= HELDOUT_RECALL, misses


def test_russian_recall_split_2_meets_the_goals_after_tuning_on_it(seed_matcher):
    """Split 2 was untuned for round 1 (recall 0.750); round 2 tuned on its misses, so it is a tuning split now."""
    cases = load_cases("ru_untuned_cases.jsonl")
    assert sum(c["category"].startswith("ru") for c in cases) >= 100
    precision, recall, misses = precision_recall(seed_matcher, cases)
    clean = [c for c in cases if not c["forbidden"]]
    clean_fp = sum(seed_matcher.check(c["tag"]).verdict != "approved" for c in clean) / len(clean)
    print(f"\nRussian split 2 ({len(cases)} tags): precision {precision:.3f}, recall {recall:.3f}, "
          f"clean flagged {clean_fp:.1%}; {misses}")
    assert precision >= 0.95 and recall >= 0.95 and clean_fp <= 0.005, misses


def test_russian_recall_the_tuning_split_meets_the_goals(seed_matcher):
    cases = load_cases("ru_dev_cases.jsonl")
    precision, recall, misses = precision_recall(seed_matcher, cases)
    print(f"\nRussian tuning split ({len(cases)} tags): precision {precision:.3f}, recall {recall:.3f}; {misses}")
    assert precision >= 0.95 and recall >= 0.95, misses


# Split 3 (``data/ru_heldout3_cases.jsonl``, 447 cases, written by a colleague who saw no code) was
# measured ONCE, untuned, by the lead on commit d70f5c5; round 3 then tuned on its misses. These
# are those untuned numbers: a floor the tuned checker must never fall below.
SPLIT3_UNTUNED = {"all": (0.973, 0.940), "russian": (0.975, 0.963)}
SPLIT3_UNTUNED_CLEAN_FP = 7          # of its 179 clean hard negatives


def test_russian_split_3_stays_at_or_above_its_untuned_measurement(seed_matcher):
    """Split 3 is a tuning split since round 3; its one untuned measurement is the floor."""
    cases = load_cases("ru_heldout3_cases.jsonl")
    russian = [c for c in cases if not c["category"].startswith("en_")]
    assert (len(cases), len(russian)) == (447, 396)
    for name, subset in (("all", cases), ("russian", russian)):
        precision, recall, misses = precision_recall(seed_matcher, subset)
        print(f"\nRussian split 3, {name} ({len(subset)} tags): precision {precision:.3f}, recall {recall:.3f}; {misses}")
        floor_p, floor_r = SPLIT3_UNTUNED[name]
        assert round(precision, 3) >= floor_p and round(recall, 3) >= floor_r, misses
    clean = [c for c in cases if not c["forbidden"]]
    clean_fp = [c["tag"] for c in clean if seed_matcher.check(c["tag"]).verdict != "approved"]
    assert len(clean) == 179 and len(clean_fp) <= SPLIT3_UNTUNED_CLEAN_FP, clean_fp


# Split 4, measured once on the code of round 3 before any tuning on it (docs/MODERATION.md): the
# floor. Round 4 tuned on it, so it is a tuning split now.
SPLIT4_UNTUNED = {"precision": 0.935, "recall": 0.964, "clean_fp": 13}


def assert_at_or_above_untuned(matcher: Matcher, name: str, size: int, clean: int, floor: dict) -> None:
    """A split's one untuned measurement is its floor: precision, recall and clean tags flagged."""
    cases = load_cases(name)
    assert len(cases) == size and sum(not c["forbidden"] for c in cases) == clean
    precision, recall, misses = precision_recall(matcher, cases)
    print(f"\n{name} ({len(cases)} tags): precision {precision:.3f}, recall {recall:.3f}; {misses}")
    assert round(precision, 3) >= floor["precision"] and round(recall, 3) >= floor["recall"], misses
    flagged_clean = [c["tag"] for c in cases if not c["forbidden"] and matcher.check(c["tag"]).verdict != "approved"]
    assert len(flagged_clean) <= floor["clean_fp"], flagged_clean


def test_split_4_stays_at_or_above_its_untuned_measurement(seed_matcher):
    assert_at_or_above_untuned(seed_matcher, "heldout4_cases.jsonl", 359, 164, SPLIT4_UNTUNED)


def test_split_4_meets_the_goals_after_tuning_on_it_in_round_4(seed_matcher):
    """Round 4 tuned on split 4 (place names, vowel-less and -iatch spellings); it measures no generalization now."""
    cases = load_cases("heldout4_cases.jsonl")
    precision, recall, misses = precision_recall(seed_matcher, cases)
    print(f"\nsplit 4 after round 4 ({len(cases)} tags): precision {precision:.3f}, recall {recall:.3f}; {misses}")
    assert precision >= 0.95 and recall >= 0.95, misses


# Split 5 (``data/heldout5_cases.jsonl``, 446 cases, 219 clean of which 112 are place names and
# surnames, written by a colleague who saw no code) was measured ONCE, untuned, on round 4's code
# (docs/MODERATION.md): its numbers are the honest measurement of today's checker and its floor.
SPLIT5_UNTUNED = {"precision": 0.899, "recall": 0.943, "clean_fp": 24}


def test_split_5_stays_at_or_above_its_untuned_measurement(seed_matcher):
    assert_at_or_above_untuned(seed_matcher, "heldout5_cases.jsonl", 446, 219, SPLIT5_UNTUNED)


# Measured once on the held-out corpus after tuning: precision 0.978 (45/46), recall 0.957 (45/47).
# A regression guard, not a target: the misses are described in docs/MODERATION.md.
HELDOUT_PRECISION = 0.97
HELDOUT_RECALL = 0.95

_EXCLUDED_GRAMMEMES = {"Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr", "Init", "Slng", "Infr", "Obsc",
                       "Erro", "Dist"}


def ordinary_hashtags(matcher: Matcher, count: int, seed: str) -> list[str]:
    """Tags glued from 1-3 ordinary dictionary words, half English, half Russian.

    Words that are themselves listed terms (or Russian slang/obscene words by pymorphy3's
    tags) are not "ordinary" and are left out; nothing else is filtered.
    """
    import pymorphy3
    from english_words import get_english_words_set

    terms = {t.term for t in matcher.terms}
    english = sorted(w for w in get_english_words_set(["web2"], lower=True, alpha=True)
                     & get_english_words_set(["gcide"], lower=True, alpha=True)
                     if 3 <= len(w) <= 10 and w not in terms and w.rstrip("s") not in terms)
    morph = pymorphy3.MorphAnalyzer()
    russian = sorted({key.partition(":")[0] for key in morph.prob_estimator.p_t_given_w.keys()})  # noqa: SIM118 - a DAWG, not iterable
    russian = [w for w in russian if 3 <= len(w) <= 12 and all("а" <= c <= "я" or c == "ё" for c in w)]

    def ordinary_russian(word: str) -> bool:
        return not any(set(p.tag.grammemes) & _EXCLUDED_GRAMMEMES or p.normal_form.replace("ё", "е") in terms
                       for p in morph.parse(word)[:3])

    rng = random.Random(seed)
    tags = ["".join(rng.choice(english) for _ in range(rng.randint(1, 3))) for _ in range(count // 2)]
    while len(tags) < count:
        words: list[str] = []
        wanted = rng.randint(1, 3)
        while len(words) < wanted:
            word = rng.choice(russian)
            if ordinary_russian(word):
                words.append(word)
        tags.append("".join(words))
    return tags


def test_at_most_half_a_percent_of_3000_ordinary_hashtags_are_flagged(seed_matcher):
    tags = ordinary_hashtags(seed_matcher, 3000, seed="showreel-ordinary-hashtags-heldout")
    assert len(set(tags)) > 2900
    flagged = [(tag, seed_matcher.check(tag)) for tag in tags]
    flagged = [(tag, result.verdict, result.top.term.term) for tag, result in flagged if result.verdict != "approved"]
    rate = len(flagged) / len(tags)
    print(f"\nordinary hashtags: {len(flagged)} of {len(tags)} flagged ({rate:.2%}): {flagged}")
    assert rate <= 0.005, flagged


_TRANSLITERATIONS = (
    # The common ways Russian is typed in Latin letters (issue 11: transliteration both ways).
    {"я": "ya", "ю": "yu", "ж": "zh", "х": "kh", "ш": "sh", "ч": "ch", "й": "y", "ь": "", "ц": "ts", "щ": "sch",
     "ы": "y", "э": "e", "ё": "yo", "е": "e", "ъ": ""},
    {"я": "ia", "ю": "iu", "ж": "j", "х": "h", "ш": "w", "ч": "4", "й": "i", "ь": "'", "ц": "c", "щ": "sh",
     "ы": "i", "э": "e", "ё": "e", "е": "e", "ъ": ""},
    {"я": "ja", "ю": "ju", "ж": "zh", "х": "x", "ш": "sh", "ч": "ch", "й": "j", "ь": "", "ц": "ts", "щ": "shch",
     "ы": "y", "э": "e", "ё": "jo", "е": "je", "ъ": ""},
)
_TRANSLIT_BASE = dict(zip("абвгдзиклмнопрстуф", "abvgdziklmnoprstuf", strict=True))


def test_at_most_half_a_percent_of_transliterated_ordinary_russian_words_are_flagged(seed_matcher):
    """Ordinary Russian words typed in Latin letters, three ways: the Latin readings must not flag them."""
    words = ordinary_hashtags(seed_matcher, 3000, seed="showreel-translit-clean")[1500:]   # the Russian half
    flagged = []
    for scheme in _TRANSLITERATIONS:
        table = {**_TRANSLIT_BASE, **scheme}
        for word in words:
            latin = "".join(table[ch] for ch in word)
            if seed_matcher.check(latin).verdict != "approved":
                flagged.append(f"{word}={latin}")
    rate = len(flagged) / (len(words) * len(_TRANSLITERATIONS))
    print(f"\ntransliterated ordinary Russian words: {len(flagged)} flagged ({rate:.2%}): {flagged}")
    assert len(words) == 1500 and rate <= 0.005, flagged

"""Dictionaries that tell an innocent word from a forbidden one.

- Russian: pymorphy3 with its OpenCorpora dictionary (``pymorphy3-dicts-ru``). A word it
  knows, that is not tagged slang/informal/obscene and whose lemma is no listed term,
  is an ordinary word (``застрахуй`` -> ``застраховать``).
- English: the public-domain Webster's (web2) and GCIDE word lists of the
  ``english-words`` package, with plain inflections (``grapes`` -> ``grape``).

Both ship their data in their wheels and are loaded on first use (about 0.3 s).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache

_EN_TWO_LETTER = frozenset({"my", "me", "we", "be", "to", "in", "on", "at", "of", "so", "up", "no", "go", "do", "is",
                            "it", "us", "an", "or", "by", "he", "hi", "oh", "ok", "am", "if", "ox"})
_RU_TWO_LETTER = frozenset({"на", "за", "не", "ни", "до", "от", "из", "во", "со", "по", "мы", "вы", "он", "ты", "то",
                            "да", "их", "ее", "же", "бы", "ли", "ну", "уж"})
_RU_MARKED = frozenset({"Slng", "Infr", "Obsc"})
_MAX_SEGMENT_WORD = 40

_lock = threading.Lock()
_english: frozenset[str] | None = None
_morph = None


def english_words() -> frozenset[str]:
    global _english
    if _english is None:
        with _lock:
            if _english is None:
                from english_words import get_english_words_set

                _english = frozenset(get_english_words_set(["web2", "gcide"], lower=True, alpha=True))
    return _english


def morph():
    global _morph
    if _morph is None:
        with _lock:
            if _morph is None:
                import pymorphy3

                _morph = pymorphy3.MorphAnalyzer(lang="ru")
    return _morph


def _e(text: str) -> str:
    return text.replace("ё", "е")


_common: frozenset[str] | None = None


def common_english_words() -> frozenset[str]:
    """Words both web2 and GCIDE list: ``shoot``, ``cook``; not rare ones such as ``fack`` or ``hui``."""
    global _common
    if _common is None:
        from english_words import get_english_words_set

        with _lock:
            if _common is None:
                _common = frozenset(get_english_words_set(["web2"], lower=True, alpha=True)
                                    & get_english_words_set(["gcide"], lower=True, alpha=True))
    return _common


@lru_cache(maxsize=200_000)
def en_known(word: str) -> bool:
    """Is ``word`` an English dictionary word or a plain inflection of one?"""
    return _inflected_in(english_words(), word)


@lru_cache(maxsize=100_000)
def en_common(word: str) -> bool:
    """Is ``word`` a common English word (in both lists) or a plain inflection of one?"""
    return _inflected_in(common_english_words(), word)


def _inflected_in(words: frozenset[str], word: str) -> bool:
    if word in words:
        return True
    n = len(word)
    if n < 4:
        return False
    last = word[-1]
    if last == "s":
        return (word[:-1] in words or (word[-2] == "e" and word[:-2] in words)
                or (word.endswith("ies") and word[:-3] + "y" in words)
                or (word.endswith("ers") and n > 5 and (word[:-3] in words or word[:-2] in words)))
    if last == "d":
        return word[-2] == "e" and n > 4 and (word[:-2] in words or word[:-1] in words)
    if last == "g":
        return (word.endswith("ing") and n > 5
                and (word[:-3] in words or word[:-3] + "e" in words or (word[-4] == word[-5] and word[:-4] in words)))
    if last == "r":
        return word[-2] == "e" and n > 4 and (word[:-2] in words or word[:-1] in words)
    if last == "y":
        return word[-2] == "l" and n > 4 and word[:-2] in words
    return False


def _en_stems(word: str) -> set[str]:
    stems = {word}
    for suffix in ("s", "es", "ed", "ing", "er", "ers", "y"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stems.add(word[:-len(suffix)])
    return stems


@lru_cache(maxsize=200_000)
def ru_known(word: str) -> bool:
    return morph().word_is_known(word)


@lru_cache(maxsize=100_000)
def _ru_parses(word: str) -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((_e(p.normal_form), frozenset(p.tag.grammemes)) for p in morph().parse(word))


def _segments(word: str, part_ends, min_len: int, short_ok: frozenset[str]) -> tuple[tuple[int, int], ...] | None:
    """Split ``word`` into the fewest known words (None when it cannot be split).

    ``part_ends(start)`` yields the ends of the known words that start at ``start``.
    """
    n = len(word)
    if n == 0 or n > _MAX_SEGMENT_WORD:
        return None
    best: list[tuple[int, int] | None] = [None] * (n + 1)   # (parts, start of the last part)
    best[0] = (0, -1)
    for start in range(n):
        if best[start] is None:
            continue
        parts = best[start][0] + 1
        for end in part_ends(start):
            if end - start < min_len and word[start:end] not in short_ok:
                continue
            if best[end] is None or parts < best[end][0]:
                best[end] = (parts, start)
    if best[n] is None:
        return None
    cuts = []
    end = n
    while end > 0:
        start = best[end][1]
        cuts.append((start, end))
        end = start
    return tuple(reversed(cuts))


class Dictionaries:
    """The word knowledge the matcher uses; one process-wide instance."""

    def en_segments(self, word: str, term_words: frozenset[str]) -> tuple[tuple[int, int], ...] | None:
        return _en_segments(word, term_words)

    def is_english(self, word: str) -> bool:
        """Is ``word`` English: one dictionary word, or several glued together?"""
        return _en_segments(word, frozenset()) is not None

    def is_english_word(self, word: str) -> bool:
        return en_known(word)

    def is_common_english(self, word: str) -> bool:
        """Is ``word`` common English words, one or glued (``shoot``, ``cookbook``; not ``fack``)?"""
        parts = _en_segments(word, frozenset())
        return parts is not None and all(en_common(word[s:e]) or word[s:e] in _EN_TWO_LETTER for s, e in parts)

    def is_two_common_words(self, word: str) -> bool:
        """Is ``word`` two common English words of 3+ letters glued (``moodboard``, ``speedrun``)?"""
        parts = _en_segments(word, frozenset())
        return (parts is not None and len(parts) == 2
                and all(e - s >= 3 and en_common(word[s:e]) for s, e in parts))

    def ru_name_and_surname(self, surname: str, name: str) -> bool:
        """Is ``surname`` only a surname and ``name`` a first name (``гарик`` ``сукачев``)?"""
        if not (ru_known(surname) and ru_known(name)):
            return False
        return (all("Surn" in grammemes for _, grammemes in _ru_parses(surname))
                and any("Name" in grammemes for _, grammemes in _ru_parses(name)))

    def en_clean(self, part: str, match_offset: int, term_words: frozenset[str]) -> bool:
        """Is ``part`` a dictionary word that merely contains the match (not at its start)?"""
        if match_offset == 0 or not en_known(part):
            return False
        return not (_en_stems(part) & term_words)

    def ru_segments(self, word: str) -> tuple[tuple[int, int], ...] | None:
        return _ru_segments(word)

    def ru_clean(self, word: str, ru_terms: frozenset[str], ru_roots: Roots | None = None) -> bool:
        """Does pymorphy3 know ``word`` as an ordinary (not slang, not obscene) word whose lemma is no term?

        A lemma with a listed root is no ordinary word either: pymorphy3 tags ``говно``,
        ``залупа``, ``охуеть`` and ``трахнуть`` as nothing special, but their roots are listed.
        Innocent lemmas with such a root (``трахея``, ``мудрый``) are on the allowlist.
        """
        if not word or not ru_known(word):
            return False
        for lemma, grammemes in _ru_parses(word):
            if grammemes & _RU_MARKED or lemma in ru_terms:
                return False
            if ru_roots is not None and ru_roots.in_lemma(lemma):
                return False
        return True

    def ru_lemma_has_root(self, word: str, ru_roots: Roots) -> bool:
        """Does some analysis of ``word`` (known or guessed) have a lemma with a listed root (``залупа``)?"""
        return bool(word) and any(ru_roots.in_lemma(lemma) for lemma, _ in _ru_parses(word))

    def ru_noun_forms(self, lemma: str) -> tuple[str, ...]:
        """The forms of ``lemma`` when pymorphy3 reads it as a noun (or adjective) in the nominative (else none)."""
        return _ru_noun_forms(lemma)

    def ru_known(self, word: str) -> bool:
        return bool(word) and ru_known(word)

    def ru_has_lemma(self, word: str, lemma: str) -> bool:
        return bool(word) and any(normal == lemma for normal, _ in _ru_parses(word))


@lru_cache(maxsize=10_000)
def _ru_noun_forms(lemma: str) -> tuple[str, ...]:
    if not ru_known(lemma):
        return ()     # a root ("порн", "твар") is no word: pymorphy3's guessed forms of it are noise
    parses = morph().parse(lemma)
    for pos in ("NOUN", "ADJF"):     # nouns first; an adjective term too (сучий -> сучье)
        for parse in parses:
            if parse.tag.POS == pos and _e(parse.normal_form) == lemma:
                return tuple(sorted({_e(form.word) for form in parse.lexeme} - {lemma}))
    return ()


@dataclass(frozen=True)
class Roots:
    """Listed Russian roots a lemma of an ordinary word does not start with.

    At its start or after a prefix (``трахнуть``, ``о|хуеть``, ``на|дрочить``); a root
    of two letters only after prefixes of 2+ letters, so ``с|ебя`` and ``в|еб`` stay words.
    Inside a word a root is not checked (``оскорблять``), nor inside an allowlisted stem
    (``страх`` in ``застраховать``, ``трахе`` in ``трахея``).
    """

    start: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()
    allow: frozenset[str] = frozenset()
    prefixed: frozenset[str] = frozenset()     # roots that count only after a prefix

    @cached_property
    def _lengths(self) -> tuple[int, ...]:
        return tuple(sorted({len(root) for root in self.start | self.prefixed}))

    def in_lemma(self, lemma: str) -> bool:
        return bool(self.start or self.prefixed) and _root_in_lemma(self, lemma)

    def at(self, lemma: str, offset: int, prefix_length: int) -> bool:
        """Does a root begin at ``offset`` (after a prefix of ``prefix_length`` letters), outside allowed stems?"""
        for k in self._lengths:
            if offset + k > len(lemma) or (k < 3 and prefix_length == 1):
                continue
            root = lemma[offset:offset + k]
            if (root in self.start or (offset and root in self.prefixed)) and not self._allowed(lemma, offset,
                                                                                                 offset + k):
                return True
        return False

    def _allowed(self, lemma: str, start: int, end: int) -> bool:
        return any(lemma.find(stem, max(0, end - len(stem)), start + len(stem)) != -1 for stem in self.allow)


@lru_cache(maxsize=200_000)
def _root_in_lemma(roots: Roots, lemma: str) -> bool:
    if roots.at(lemma, 0, 0):
        return True
    return any(roots.at(lemma, len(prefix), len(prefix)) for prefix in _prefixes_of(lemma, roots.prefixes))


def _prefixes_of(word: str, prefixes: frozenset[str]) -> list[str]:
    return [word[:k] for k in range(1, min(len(word), 5) + 1) if word[:k] in prefixes]


_EN_LONGEST = 24


@lru_cache(maxsize=100_000)
def _en_segments(word: str, term_words: frozenset[str]):
    if word in term_words or en_known(word):
        return ((0, len(word)),)

    def part_ends(start: int):
        if word[start:start + 2] in _EN_TWO_LETTER:
            yield start + 2
        for end in range(start + 3, min(len(word), start + _EN_LONGEST) + 1):
            part = word[start:end]
            if part in term_words or en_known(part):
                yield end

    return _segments(word, part_ends, 3, _EN_TWO_LETTER)


@lru_cache(maxsize=100_000)
def _ru_segments(word: str):
    if ru_known(word):
        return ((0, len(word)),)
    # One walk of the dictionary per start position (words written with ё in the dictionary
    # are found here only when written with ё; whole words are checked with ё folding above).
    words = morph().dictionary.words

    def part_ends(start: int):
        return [start + len(prefix) for prefix in words.prefixes(word[start:])]

    return _segments(word, part_ends, 3, _RU_TWO_LETTER)


_default = Dictionaries()


def default_dictionaries() -> Dictionaries:
    return _default

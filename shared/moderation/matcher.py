"""The hashtag checker: one Aho-Corasick automaton over every term, then the checks
that tell a forbidden word from an innocent word that happens to contain it.

A candidate (a term found in a view) must pass, in order:

1. **runs**: the collapsed letters match and the run lengths fit (``fuuuck`` yes,
   ``shiitake`` no: a real double letter is not a stretched single one);
2. **mode**: ``sub`` anywhere; ``start`` at the start of a word or after a Russian
   prefix (``заебал``); ``word`` as a whole word, a word of a glued tag, or (Russian)
   a form of the term (``манды``);
3. **allowlist**: not inside an allowlisted stem (``scunthorpe``);
4. **dictionaries**: not inside a dictionary word that merely contains it
   (``therapist``, ``застрахуй``: pymorphy3 knows it, it is not slang, its lemma is no term),
   and not an artefact of gluing dictionary words (``maniac`` + ``until``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shared.moderation import gazetteer
from shared.moderation import normalize as nz
from shared.moderation.dictionaries import Dictionaries, Roots, default_dictionaries

SEVERITIES = ("high", "medium", "low")
MODES = ("sub", "start", "word")
CATEGORY_LABELS = {
    "profanity": "profanity", "sexual": "sexual content", "slur": "a slur", "hate": "hate speech",
    "violence": "violence", "abuse": "abuse", "drugs": "drugs", "spam": "spam", "moderator": "a term moderators banned",
    "confusable": "look-alike letters of several scripts in one word",
}
VIEW_LABELS = {
    "plain": "", "normalized": "once look-alike letters, leetspeak, separators, masks and repeats are undone",
    "translit": "read as transliterated Russian", "lookalike": "read as Cyrillic look-alike letters",
    "translit_en": "read as transliterated English", "confusable": "",
}
# Russian prefixes after which a ``start`` term still starts a word (заебал, отъебись, выёбываться).
RU_PREFIXES = frozenset({
    "в", "вз", "взъ", "во", "воз", "въ", "вы", "до", "за", "из", "изъ", "изь", "на", "над", "не", "недо", "ни",
    "о", "об", "обо", "объ", "обь", "от", "ото", "отъ", "оть", "пере", "по", "под", "подъ", "подь", "при",
    "про", "раз", "разъ", "разь", "рас", "с", "со", "съ", "сь", "у", "долбо", "осто", "зло",
})
EN_SUFFIXES = ("s", "es", "z")
# Collective nouns (ё read as е): "хачьё", "жидьё", "вороньё".
RU_COLLECTIVE = frozenset({"ье"})


@dataclass(frozen=True)
class Term:
    term: str
    category: str
    severity: str
    mode: str
    language: str = ""
    source: str = ""
    form_of: str = ""            # a derived form of a listed noun: its lemma (``хохлом`` -> ``хохол``)

    @property
    def is_cyrillic(self) -> bool:
        return nz.script_of(self.term[0]) == nz.CYRILLIC


@dataclass(frozen=True)
class Hit:
    term: Term
    view: str


@dataclass(frozen=True)
class Result:
    normalized: str
    verdict: str                 # approved | needs_review | rejected
    hits: tuple[Hit, ...]
    # The spelling mixed scripts in a word; ``normalized`` (the stored key) is its plain-script reading.
    mixed: bool = False

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    @property
    def reason(self) -> str | None:
        hit = self.top
        if hit is None:
            return None
        if hit.view == "confusable" and not nz.canonicalize(self.normalized)[1]:
            # Only the spelling is suspect: the stored tag is the plain-script key, and that is shown.
            return (f"mixes look-alike letters of several scripts in one word; it is stored and shown as "
                    f"“#{self.normalized}”")
        label = CATEGORY_LABELS.get(hit.term.category, hit.term.category)
        how = VIEW_LABELS.get(hit.view, "")
        text = f"contains {label} (“{hit.term.term}”)"
        if how:
            text += f" {how}"
        if self.verdict == "needs_review":
            text += "; a moderator will review it"
        return text


@dataclass(frozen=True)
class _Pattern:
    kind: str                    # term | translit (a term's spelling in translit views only) | allow
    index: int                   # into terms (allow: unused)
    length: int
    runs: tuple[int, ...]        # 0: mask, matches any run
    hidden: str = ""             # the letters a mask pattern hides (``f*ck``: ``u``)


def term_key(text: str) -> str:
    """How a term or stem is stored: cleaned, casefolded, ё as е, letters only."""
    return "".join(ch for ch in nz.normalize_tag(text) if ch.isalpha())


def spelling_variants(term: str) -> set[str]:
    """Spellings people use for the same word (``fvck``)."""
    variants = {term}
    if "u" in term and nz.script_of(term[0]) == nz.LATIN:
        variants.add(term.replace("u", "v"))
    if len(term) >= 5 and nz.script_of(term[0]) == nz.CYRILLIC:
        # ё after a hushing consonant is spelled о ("сучонок" of "сучёнок", stored as "сученок").
        variants.add(_HUSHED_YO.sub(r"\1о", term))
    if "ь" in term and len(term) > 4:
        # Transliterations drop the soft sign: "tvar", "mraz", "dermo".
        variants.add(term.replace("ь", ""))
    return variants


_CYR_CONSONANTS = frozenset("бвгджзйклмнпрстфхцчшщ")
_HUSHED_YO = re.compile(r"([чшжщ])е(?=н)")


def translit_variants(term: str) -> set[str]:
    """How Latin spellings lose ю and я after a consonant: ``shluha``, ``ubludok``, ``bl'ad`` (translit views only)."""
    if len(term) < 4 or nz.script_of(term[0]) != nz.CYRILLIC:
        return set()
    out = set()
    for soft, hard in (("ю", "у"), ("я", "а")):
        variant = "".join(hard if ch == soft and i and term[i - 1] in _CYR_CONSONANTS else ch
                          for i, ch in enumerate(term))
        if variant != term:
            out.add(variant)
    return out


def noun_forms(terms: list[Term], dictionaries: Dictionaries) -> list[Term]:
    """Every case and number of the Russian nouns in the list (``ублюдок`` -> ``ублюдки``, ``сучка`` -> ``сучек``).

    Forms shorter than 5 letters become whole-word terms, so ``сук`` (of ``сука``) never matches inside ``барсук``.
    """
    out = []
    for term in terms:
        if not term.is_cyrillic or len(term.term) < 4:
            continue
        for form in dictionaries.ru_noun_forms(term.term):
            mode = term.mode if len(form) >= 5 else "word"
            out.append(Term(form, term.category, term.severity, mode, term.language, term.source, term.term))
    return out


def mask_variants(collapsed: str) -> set[str]:
    """``fuck`` -> ``f*ck``, ``fu*k``, ``f*k``: one or two inner letters hidden."""
    out = set()
    n = len(collapsed)
    if n < 3:
        return out
    for width in (1, 2):
        for i in range(1, n - width):
            if n - width >= 2:
                out.add(collapsed[:i] + nz.MASK + collapsed[i + width:])
    return out


class Matcher:
    """Checks tags against one lexicon version; build once, use from many threads."""

    def __init__(self, terms: Iterable[Term], allow_stems: Iterable[str] = (), *,
                 dictionaries: Dictionaries | None = None, version: int = 0,
                 places: Iterable[str] | None = None):
        self.version = version
        self.terms: list[Term] = []
        self.dictionaries = dictionaries or default_dictionaries()
        import ahocorasick  # only processes that check hashtags build an automaton

        self._automaton = ahocorasick.Automaton()
        self._cache: dict[str, Result] = {}
        patterns: dict[str, list[_Pattern]] = {}

        def add(pattern_text: str, runs: tuple[int, ...], kind: str, index: int, hidden: str = "") -> None:
            entry = _Pattern(kind, index, len(pattern_text), runs, hidden)
            patterns.setdefault(pattern_text, [])
            if entry not in patterns[pattern_text]:
                patterns[pattern_text].append(entry)

        seen: set[str] = set()
        terms = list(terms)
        terms += noun_forms(terms, self.dictionaries)
        for term in terms:
            key = term_key(term.term)
            if len(key) < 2 or key in seen:
                continue
            seen.add(key)
            index = len(self.terms)
            self.terms.append(Term(key, term.category, term.severity, term.mode, term.language, term.source,
                                   term.form_of))
            for variant in spelling_variants(key):
                collapsed, runs = nz.collapse(variant)
                add(collapsed, tuple(runs), "term", index)
                for masked in mask_variants(collapsed):
                    star = masked.index(nz.MASK)
                    add(masked, tuple(0 if ch == nz.MASK else runs[_source_index(collapsed, masked, i)]
                                      for i, ch in enumerate(masked)), "term", index,
                        collapsed[star:star + len(collapsed) - len(masked) + 1])
            for variant in translit_variants(key):
                collapsed, runs = nz.collapse(variant)
                add(collapsed, tuple(runs), "translit", index)
            skeleton = _skeleton(term, key)
            if skeleton:
                collapsed, runs = nz.collapse(skeleton)
                add(collapsed, tuple(runs), "skeleton", index)
            if len(key) >= 4 and nz.script_of(key[0]) == nz.LATIN:
                # Phonetic spellings (``phuck``, ``kunt``) in the phonetic view only; short words
                # are left out (``kum`` is Russian, ``kok`` Dutch).
                for variant in spelling_variants(key):
                    collapsed, runs = nz.collapse(nz.phonetic_en(variant))
                    add(collapsed, tuple(runs), "phonetic", index)
        self.ru_terms = frozenset(t.term for t in self.terms if t.is_cyrillic)
        # A lemma with a listed root is no ordinary word: "охуеть", "вы|блядок", "трахнуть".
        self._en_term_words = frozenset(t.term for t in self.terms if not t.is_cyrillic)
        ru_allowed: list[str] = []
        for stem in allow_stems:
            key = term_key(stem)
            if len(key) < 2:
                continue
            if nz.script_of(key[0]) == nz.CYRILLIC:
                ru_allowed.append(key)
            for form in _allow_forms(key):
                collapsed, runs = nz.collapse(form)
                add(collapsed, tuple(runs), "allow", -1)
        # Place names (data/places.tsv): a tag that is one excuses what lies inside it.
        self.places = gazetteer.places() if places is None else frozenset(places)
        self.ru_roots = Roots(frozenset(t.term for t in self.terms if t.is_cyrillic and t.mode in ("sub", "start")),
                              RU_PREFIXES, frozenset(ru_allowed))
        # Whether glued English words are Russian instead: ``sub`` roots and long ``start`` roots
        # count ("hue" + "sos" is "хуесос", "dol" + "boy" + "asher" is "долбоящер"), short start
        # roots only after a prefix ("nae" + "bal" is "на|ебал"; "scr|atcher" is no "срат").
        long_roots = frozenset(t.term for t in self.terms if t.is_cyrillic and (
            t.mode == "sub" or (t.mode == "start" and len(t.term) >= 5)))
        self.ru_glued_roots = Roots(long_roots, frozenset(p for p in RU_PREFIXES if len(p) >= 2),
                                    frozenset(ru_allowed), self.ru_roots.start - long_roots)
        for pattern_text, entries in patterns.items():
            self._automaton.add_word(pattern_text, tuple(entries))
        self.pattern_count = len(patterns)
        if patterns:
            self._automaton.make_automaton()

    # -- checking ---------------------------------------------------------------------------

    def check(self, tag: str) -> Result:
        """Return the verdict for one tag (cached per cleaned form: look-alikes change the verdict)."""
        cleaned = nz.clean(tag).casefold()
        cached = self._cache.get(cleaned)
        if cached is not None:
            return cached
        normalized, mixed = nz.canonicalize(cleaned)
        result = self._check(normalized)
        if normalized != cleaned and any(hit.view == "plain" for hit in result.hits):
            result = Result(normalized, result.verdict, tuple(Hit(hit.term, "normalized" if hit.view == "plain"
                                                                  else hit.view) for hit in result.hits))
        if mixed and result.verdict == "approved":
            # Letters of several scripts in one word are how look-alike spoofs are made.
            hit = Hit(Term(normalized, "confusable", "medium", "word", "", "tr39"), "confusable")
            result = Result(normalized, "needs_review", (hit,))
        if mixed:
            result = Result(result.normalized, result.verdict, result.hits, mixed=True)
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[cleaned] = result
        return result

    def _check(self, normalized: str) -> Result:
        if not self.terms or not normalized:
            return Result(normalized, "approved", ())
        analysis = nz.analyse(normalized)
        found: dict[int, str] = {}
        for source in analysis.views:
            for index in self._search(source, analysis):
                found.setdefault(index, source.name)
        if not found:
            return Result(normalized, "approved", ())
        hits = []
        for index, view_name in found.items():
            term = self.terms[index]
            if view_name in ("text", "masked", "phonetic"):
                view_name = "plain" if term.term in analysis.normalized else "normalized"
            hits.append(Hit(term, view_name))
        hits.sort(key=lambda h: (SEVERITIES.index(h.term.severity), -len(h.term.term)))
        verdict = "rejected" if hits[0].term.severity == "high" else "needs_review"
        return Result(normalized, verdict, tuple(hits))

    def _search(self, source: nz.ViewSource, analysis: nz.Analysis) -> set[int]:
        text = source.text
        if not text:
            return set()
        matches = list(self._automaton.iter(text))
        if not matches:
            return set()
        view = source.build()
        candidates: list[tuple[int, int, int]] = []
        allowed: list[tuple[int, int]] = []
        for end_index, entries in matches:
            for entry in entries:
                start = end_index - entry.length + 1
                end = end_index + 1
                if not _runs_fit(view.runs, start, end, entry.runs):
                    continue
                if entry.kind == "allow":
                    allowed.append((start, end))
                elif entry.kind == "skeleton":
                    if source.name == "text" and _fits_skeleton(view, analysis, start, end, self.terms[entry.index]):
                        candidates.append((start, end, entry.index))
                elif (entry.kind == "phonetic") != (source.name == "phonetic"):
                    continue
                elif source.name == "masked" and entry.hidden.strip(_VOWELS):
                    continue     # a digit hides a vowel ("f4ck", "sl00t"), not "ok" ("h8ers" is no "hooker")
                elif (entry.kind == "translit" and source.name not in ("translit", "lookalike")
                      and not (source.name == "text" and _leet_cyrillic(view, analysis, start))):
                    continue     # бл@дь: a leet letter of a Cyrillic word is read as in translit
                else:
                    candidates.append((start, end, entry.index))
        if not candidates:
            return set()
        found: set[int] = set()
        for start, end, index in candidates:
            if index in found:
                continue
            if any(a <= start and end <= b for a, b in allowed):
                continue
            if self._confirm(view, analysis, start, end, self.terms[index]):
                found.add(index)
        return found

    def _confirm(self, view: nz.View, analysis: nz.Analysis, start: int, end: int, term: Term) -> bool:
        piece_start, piece_end, piece_index = _piece_at(view, start)
        if end > piece_end:
            # Across a separator: "fu_ck" is one word, but only when no piece is a word on its own.
            piece_end = max(e for s, e, _ in view.pieces if s < end)
        piece = analysis.pieces[piece_index]
        if view.name == "translit_en":
            # Cyrillic spelled in Latin letters: only whole words, and never a Russian word.
            return (term.mode != "start" and not term.is_cyrillic and start == piece_start and end == piece_end
                    and piece.script == nz.CYRILLIC and not self.dictionaries.ru_clean(piece.folded, self.ru_terms))
        if end <= piece_end and self._is_place(analysis, piece_index):
            return False     # "huizhou", "slutsk", "sukabumi": a place name, not a word inside it
        if view.name == "lookalike" and not self._looks_cyrillic(view, piece, start, end, piece_start, piece_index):
            return False
        if view.name == "masked" and start != piece_start and end != piece_end:
            return False     # a masked letter inside a long word is more often Russian "4" = ч ("fakti4eskoi")
        if view.name in ("masked", "phonetic") and (
                (self.dictionaries.is_common_english if view.name == "masked" else self.dictionaries.is_english)(
                    piece.folded)
                or (not term.is_cyrillic and self._reads_as_russian(analysis, piece_index, term))):
            # "sh00t" is "shoot" ("f4ck" is no common "fack"); "pussycat" is English as typed;
            # "kuntsevo" is Кунцево.
            return False
        if term.mode == "start" and term.is_cyrillic and not self._mode_fits(view, start, end, term, piece_start,
                                                                             piece_index):
            return False     # cheap, and most candidates in Latin views stop here
        if (view.name in ("translit", "lookalike") and piece.script == nz.LATIN
                and self._reads_as_english(view, piece, piece_index)):
            return False
        if (view.name == "text" and piece.script == nz.LATIN and not term.is_cyrillic
                and self._reads_as_russian(analysis, piece_index, term)):
            return False
        if not self._mode_fits(view, start, end, term, piece_start, piece_index):
            return False
        if term.mode != "word" and self._exonerated(view, start, end, term, piece_start, piece_index):
            return False
        # Dearer dictionary readings last, for the few candidates still standing.
        if view.name in ("text", "translit") and self._is_name_and_surname(view, piece_index):
            return False     # "гарик_сукачев": a first name next to a surname pymorphy3 knows
        # "спидран" is "speedrun", "сукияки" "sukiyaki".
        return not (view.name == "text" and term.is_cyrillic and piece.script == nz.CYRILLIC
                    and (start, end) != (piece_start, piece_end) and self._english_loanword(view, piece_index))

    def _is_place(self, analysis: nz.Analysis, piece_index: int) -> bool:
        """Is the piece, typed in plain letters, a place name, or one glued to words free of terms?

        ``huizhou``, ``huizhoutravel``; not ``moscowfuck`` (the rest has a term of its own).
        """
        raw = analysis.pieces[piece_index].raw.strip("0123456789")     # "nigeria2026"
        if not raw.isalpha() or len(raw) < 5:
            return False
        if raw in self.places:
            return True
        if nz.script_of(raw[0]) == nz.CYRILLIC:
            return False     # pymorphy3's own place names (Geox) are ordinary words to it already
        for k in range(5, len(raw) - 2):
            head, tail = raw[:k], raw[k:]
            if head in self.places and self.check(tail).verdict == "approved":
                return True
            head, tail = raw[:len(raw) - k], raw[len(raw) - k:]
            if tail in self.places and len(head) >= 3 and self.check(head).verdict == "approved":
                return True
        return False

    def _reads_as_russian(self, analysis: nz.Analysis, piece_index: int, term: Term) -> bool:
        """Transliterated Russian is not English: ``zashitnyi`` (защитный) has no "shit" in it.

        The piece is no English (glued) word, and its Russian reading is ordinary dictionary words
        of 4+ letters, longer than the term: ``shit`` itself (the word "шит") is no excuse.
        """
        if self.dictionaries.en_segments(analysis.pieces[piece_index].folded, self._en_term_words) is not None:
            return False     # English words glued ("fuckmondays") stay English
        for source in analysis.views:
            if source.name != "translit":
                continue
            reading = source.words[piece_index]
            if len(reading) < len(term.term) + 2:
                continue
            parts = self.dictionaries.ru_segments(reading)
            if parts and all(e - s >= 4 and self.dictionaries.ru_clean(reading[s:e], self.ru_terms, self.ru_roots)
                             for s, e in parts):
                return True
        return False

    @staticmethod
    def _looks_cyrillic(view: nz.View, piece: nz.Piece, start: int, end: int, piece_start: int,
                        piece_index: int) -> bool:
        """A look-alike reading needs look-alike letters: ``cyka`` is ``сука``, but ``spalnik`` is no ``срал``."""
        lo, hi = _raw(view, start) - _raw(view, piece_start), _raw(view, end) - _raw(view, piece_start)
        source = piece.folded
        if len(source) != len(view.words[piece_index]):
            return True
        return all(ch in nz.LOOK_LAT_TO_CYR or not ch.isalpha() for ch in source[lo:hi])

    def _reads_as_english(self, view: nz.View, piece: nz.Piece, piece_index: int) -> bool:
        """English words are not transliterated Russian: "debate" is not "дебате".

        Glued short English words lose to a Russian word: "shalava" is "sha" + "lava", but
        "шалава" is a word pymorphy3 knows.
        """
        parts = self.dictionaries.en_segments(piece.folded, frozenset())
        if parts is None:
            return False
        if nz.has_inner_leet(piece.raw) and not self.dictionaries.is_common_english(piece.folded):
            return False     # "hu1": a digit for a letter hides a word, and "hui" is no common one
        if len(parts) == 1:
            return True
        reading = view.words[piece_index]
        return not (self.dictionaries.ru_known(reading)
                    or self.dictionaries.ru_lemma_has_root(reading, self.ru_glued_roots))

    def _mode_fits(self, view: nz.View, start: int, end: int, term: Term, piece_start: int,
                   piece_index: int) -> bool:
        if term.mode == "sub":
            return True
        bounds = view.bounds
        if term.mode == "start":
            if start in bounds:
                return True
            if term.is_cyrillic:
                last = max(b for b in bounds if b <= start)
                prefix = view.text[last:start]
                # A doubled first letter may end the prefix: "не|ебет" is collapsed to "н|ебет".
                extra = view.runs[start] - (len(term.term) - len(term.term.lstrip(term.term[0])))
                prefixes = {prefix, prefix + view.text[start] * extra} if extra > 0 else {prefix}
                return any(p in RU_PREFIXES and (view.name == "text" or len(p) >= 2) for p in prefixes)
            parts = self._parts(view, piece_index)
            return parts is not None and _raw(view, start) - _raw(view, piece_start) in {s for s, _ in parts}
        # word
        if start in bounds:
            if end in bounds:
                return True
            if not term.is_cyrillic:
                rest = view.text[end:min(b for b in bounds if b > end)] if end < len(view.text) else ""
                if rest in EN_SUFFIXES:
                    return True
        word = view.words[piece_index]
        if term.is_cyrillic:
            lemma = term.form_of or term.term     # "хохлома" is no form of "хохол", though "хохлом" is
            if (word.startswith(term.term) and word[len(term.term):] in RU_COLLECTIVE
                    and not self.dictionaries.ru_clean(word, self.ru_terms, self.ru_roots)):
                return True      # a collective noun of a listed word: "хачьё", "жидьё" (not "шитьё")
            if self.dictionaries.ru_has_lemma(word, lemma):
                return True
            parts = self._parts(view, piece_index)
            if parts:
                lo, hi = _raw(view, start) - _raw(view, piece_start), _raw(view, end) - _raw(view, piece_start)
                for s, e in parts:
                    if s <= lo and hi <= e and self.dictionaries.ru_has_lemma(word[s:e], lemma):
                        return True
            return False
        parts = self._parts(view, piece_index)
        if not parts or len(parts) < 2:
            return False
        lo, hi = _raw(view, start) - _raw(view, piece_start), _raw(view, end) - _raw(view, piece_start)
        starts = {s for s, _ in parts}
        ends = {e for _, e in parts}
        return lo in starts and (hi in ends or any(hi + len(sfx) in ends and word[hi:hi + len(sfx)] == sfx
                                                   for sfx in EN_SUFFIXES))

    def _exonerated(self, view: nz.View, start: int, end: int, term: Term, piece_start: int,
                    piece_index: int) -> bool:
        """Is the match only part of dictionary words (one innocent word, or glued words)?"""
        parts = self._parts(view, piece_index)
        if not parts:
            return False
        word = view.words[piece_index]
        lo, hi = _raw(view, start) - _raw(view, piece_start), _raw(view, end) - _raw(view, piece_start)
        spanned = [(s, e) for s, e in parts if s < hi and lo < e]
        if not spanned or (len(spanned) > 1 and term.mode != "sub"):
            # A ``start`` term claims a word start: glued words cannot explain it away.
            return False
        cyrillic = nz.script_of(word[0]) == nz.CYRILLIC if word else False
        if cyrillic and len(spanned) > 1 and self.dictionaries.ru_lemma_has_root(word, self.ru_roots):
            # pymorphy3 reads the whole word as a form of a listed root ("за" + "лупа" is "залупа").
            return False
        for s, e in spanned:
            part = word[s:e]
            if cyrillic:
                if not self.dictionaries.ru_clean(part, self.ru_terms, self.ru_roots):
                    return False
            elif not self.dictionaries.en_clean(part, lo - s if s <= lo else -1, self._en_term_words):
                return False
        return True

    def _is_name_and_surname(self, view: nz.View, piece_index: int) -> bool:
        words = view.words
        word = words[piece_index]
        if not word or nz.script_of(word[0]) != nz.CYRILLIC:
            return False
        return any(0 <= k < len(words) and self.dictionaries.ru_name_and_surname(word, words[k])
                   for k in (piece_index - 1, piece_index + 1))

    def _english_loanword(self, view: nz.View, piece_index: int) -> bool:
        """Is a Cyrillic word no Russian word but an English one spelled the Russian way?

        One English word of 6+ letters (``сукияки``), or two common English words of 3+ letters
        glued, in a word that ends like an English noun, in a consonant (``спидран``, ``мудборд``);
        Russian endings (``мудачье``, ``мудень``) keep the Russian reading.
        """
        word = view.words[piece_index]
        glued_ok = word[-1] in _CYR_CONSONANTS
        if not glued_ok and len(word) < 6:
            return False
        if self.dictionaries.ru_known(word) or self.dictionaries.ru_lemma_has_root(word, self.ru_glued_roots):
            return False
        for reading in nz.english_readings(word):
            if len(reading) >= 6 and self.dictionaries.is_english_word(reading):
                return True
            if glued_ok and self.dictionaries.is_two_common_words(reading):
                return True
        return False

    def _parts(self, view: nz.View, piece_index: int):
        word = view.words[piece_index]
        if not word:
            return None
        if any(nz.script_of(c) == nz.CYRILLIC for c in word):
            return self.dictionaries.ru_segments(word)
        return self.dictionaries.en_segments(word, self._en_term_words)


_VOWELS = "aeiouy"


def _leet_cyrillic(view: nz.View, analysis: nz.Analysis, position: int) -> bool:
    """Is the piece at ``position`` a Cyrillic word written with leet or Latin letters (``бл@дь``)?"""
    piece = analysis.pieces[_piece_at(view, position)[2]]
    return piece.script == nz.CYRILLIC and not nz._PURE_CYRILLIC.fullmatch(piece.raw)


_NO_VOWELS = {nz.LATIN: re.compile(r"[b-df-hj-np-tv-z]+"), nz.CYRILLIC: re.compile(r"[бвгджзклмнпрстфхцчшщьъ]+")}
_VOWEL_LETTERS = frozenset("aeiouаеиоуыэюяьъй")
_SKELETON_ENDINGS = frozenset({"", "s", "z", "r", "rs", "ng", "d"})


def _skeleton(term: Term, key: str) -> str:
    """A high-severity term without its inner vowels (``fck``, ``btch``, ``fckr``, ``пзд``), or ""."""
    skeleton = key[:1] + "".join(ch for ch in key[1:] if ch not in _VOWEL_LETTERS)
    latin = nz.script_of(key[0]) == nz.LATIN
    if term.severity != "high" or skeleton == key or key[0] in _VOWEL_LETTERS or len(key) < 4:
        return ""
    # Three consonants are an abbreviation as often as not ("ars", "tts"): only of 4-letter English words.
    return skeleton if len(skeleton) >= 4 or (len(skeleton) == 3 and (len(key) == 4 or not latin)) else ""


def _fits_skeleton(view: nz.View, analysis: nz.Analysis, start: int, end: int, term: Term) -> bool:
    """Does a vowel-less spelling stand for the term: a whole word with no vowels at all?

    English: the whole piece, or with an ending (``btch``, ``fckr``); Russian (sub/start roots): the start of one (``пздц``).
    """
    piece_start, _, piece_index = _piece_at(view, start)
    piece = analysis.pieces[piece_index]
    pattern = _NO_VOWELS.get(piece.script)
    if pattern is None or not pattern.fullmatch(piece.raw) or start != piece_start:
        return False
    if piece.script != nz.LATIN:
        return term.mode != "word"
    rest = view.words[piece_index][_raw(view, end) - _raw(view, piece_start):]
    return rest in _SKELETON_ENDINGS     # "fckr", "fckng", "btchs"


def _allow_forms(key: str) -> set[str]:
    """An allowed stem as typed and as the other script's views read it."""
    if nz.script_of(key[0]) == nz.LATIN:
        return {key, nz.translit_lat_to_cyr(key), nz.lookalike_lat_to_cyr(key)}
    return {key, nz.translit_cyr_to_lat(key)}


def _runs_fit(text_runs: list[int], start: int, end: int, pattern_runs: tuple[int, ...]) -> bool:
    last = end - start - 1
    for i, want in enumerate(pattern_runs):
        if want == 0:
            continue
        got = text_runs[start + i]
        if got == want or got >= 3:
            continue
        if i == 0 or i == last:
            if got > want:      # the extra letters belong to the neighbouring word
                continue
        elif want == 2 and got == 1:   # a double letter written single: "bulshit", "ashole"
            continue
        return False
    return True


def _piece_at(view: nz.View, position: int) -> tuple[int, int, int]:
    for start, end, index in view.pieces:
        if start <= position < end:
            return start, end, index
    return view.pieces[-1]


def _raw(view: nz.View, position: int) -> int:
    return view.offsets[position]


def _source_index(collapsed: str, masked: str, i: int) -> int:
    """Index in ``collapsed`` of the i-th character of ``masked`` (masks hide 1 or 2 letters)."""
    star = masked.index(nz.MASK)
    if i < star:
        return i
    return i + (len(collapsed) - len(masked))

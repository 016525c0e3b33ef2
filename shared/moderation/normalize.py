"""Turn a hashtag into the strings ("views") the matcher searches.

A tag is cut into pieces at separators (``f.u.c.k`` pieces of one letter are joined
again). Each piece is folded to its dominant script: look-alike letters of the other
script become this script's letters (``xyй`` -> ``хуй``, ``fuсk`` -> ``fuck``), leetspeak
digits and symbols become letters (``p0rn``, ``6лядь``, ``3.14здец``), masks become ``*``.
Runs of a repeated letter are collapsed; the run lengths are kept so the matcher can tell
``fuuuck`` (a stretched word) from ``shiitake`` (a real double letter).

Views of the whole tag:

- ``text``: the folded tag, in the scripts it is written in;
- ``translit``: Latin pieces read as transliterated Russian (``blyad`` -> ``бляд``);
- ``lookalike``: Latin pieces read letter by letter as Cyrillic look-alikes (``cyka`` -> ``сука``);
- ``translit_en``: Cyrillic pieces transliterated to Latin (``порн`` -> ``porn``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

LATIN, CYRILLIC, NONE = "latin", "cyrillic", "none"

MASK = "*"
_MASK_CHARS = frozenset("*#%")
# Leetspeak per target script. "π" stands for "3.14" (пи / pi).
_LEET_LATIN = {"0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "b", "7": "t", "8": "b", "9": "g",
               "$": "s", "@": "a", "!": "i", "|": "l", "€": "e", "£": "l", "π": "pi"}
_LEET_CYRILLIC = {"0": "о", "1": "и", "3": "з", "4": "ч", "6": "б", "8": "в", "9": "д",
                  "$": "с", "@": "а", "!": "и", "|": "л", "€": "е", "π": "пи"}
_LEET_CHARS = frozenset(_LEET_LATIN) | frozenset(_LEET_CYRILLIC)

# Letters that look alike in the two scripts (lower case).
_LOOK_LAT_TO_CYR = {"a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "k": "к", "m": "м", "n": "п", "o": "о",
                    "p": "р", "r": "г", "t": "т", "u": "и", "x": "х", "y": "у"}
_LOOK_CYR_TO_LAT = {"а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
                    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q",
                    "ԝ": "w", "ь": "b", "п": "n", "г": "r", "и": "u"}
# Letters that exist only in one script (no look-alike): they decide the dominant script.
_AMBIGUOUS = frozenset(_LOOK_LAT_TO_CYR) | frozenset(_LOOK_CYR_TO_LAT)

# Phonetic transliteration, longest sequences first.
_LAT_TO_CYR_SEQ = (("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
                   ("ya", "я"), ("ja", "я"), ("yu", "ю"), ("ju", "ю"), ("yo", "е"), ("jo", "е"), ("ye", "е"),
                   ("ck", "к"), ("ph", "ф"))
_LAT_TO_CYR = {"a": "а", "b": "б", "c": "ц", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и", "j": "й",
               "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р", "s": "с", "t": "т",
               "u": "у", "v": "в", "w": "в", "x": "кс", "z": "з"}
_CYR_VOWELS = frozenset("аеиоуыэюяё")
_CYR_TO_LAT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i", "й": "y",
               "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
               "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e",
               "ю": "yu", "я": "ya", "і": "i", "ї": "i", "є": "e", "ґ": "g"}

_PI = re.compile(r"3[.,]14")
_BREVE = "\u0306"
_YO = str.maketrans("ёЁ", "еЕ")


def fold_marks(text: str) -> str:
    """Drop diacritics (``é`` -> ``e``, ``ё`` -> ``е``) but keep ``й``."""
    if text.isascii():
        return text
    text = text.translate(_YO)
    if unicodedata.is_normalized("NFD", text.replace("й", "").replace("Й", "")):
        return text
    out = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            if ch == _BREVE and out and out[-1] in "иИ":
                out[-1] = "й" if out[-1] == "и" else "Й"
            continue
        out.append(ch)
    return "".join(out)


def clean(tag: str) -> str:
    """NFKC, no format characters (zero-width), no diacritics, no leading ``#`` or spaces."""
    text = unicodedata.normalize("NFKC", tag)
    if not text.isascii():
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        text = fold_marks(text)
    return text.strip().lstrip("#").strip()


def normalize_tag(tag: str) -> str:
    """The key a hashtag is stored under: cleaned and casefolded (``#Fuck`` and ``fuck`` are one tag)."""
    return clean(tag).casefold()


def script_of(ch: str) -> str:
    if "a" <= ch <= "z":
        return LATIN
    if "\u0400" <= ch <= "\u04ff":
        return CYRILLIC
    return NONE


@dataclass
class Piece:
    """A separator-delimited part of a tag, casefolded, with the cuts inside it."""

    raw: str                       # casefolded characters (letters, digits, leet and mask symbols)
    cuts: frozenset[int]           # camelCase and script-change positions inside ``raw``
    script: str = NONE             # dominant script
    folded: str = ""               # after script folding, leet and masks


@dataclass
class View:
    """One searchable string of a tag: collapsed letters plus the facts the matcher checks."""

    name: str
    text: str                      # collapsed (one letter per run)
    runs: list[int]                # run length of each collapsed letter
    bounds: frozenset[int]         # word boundaries in collapsed positions
    pieces: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, piece index) collapsed
    words: list[str] = field(default_factory=list)                    # piece texts without stretched runs
    offsets: list[int] = field(default_factory=list)                  # collapsed -> position in ``words``


_SEPARATORS = re.compile(r"[^\w$@!|€£π*#%]+|_+")
_SCRIPT_CHANGE = re.compile(r"(?<=[a-z])(?=[а-яёіїєґ])|(?<=[а-яёіїєґ])(?=[a-z])")


def split_pieces(text: str) -> list[Piece]:
    """Cut a cleaned, casefolded tag into pieces at separators; note script changes inside them."""
    text = _PI.sub("π", text)
    pieces = []
    for raw in _SEPARATORS.split(text):
        if not raw:
            continue
        cuts = frozenset(m.start() for m in _SCRIPT_CHANGE.finditer(raw)) if not raw.isascii() else frozenset()
        pieces.append(Piece(raw, cuts))
    return _join_spelled_out(pieces)


def _join_spelled_out(pieces: list[Piece]) -> list[Piece]:
    """``f.u.c.k``: consecutive one-letter pieces are one word spelled out."""
    joined: list[Piece] = []
    spelling = False
    for piece in pieces:
        if len(piece.raw) == 1 and spelling:
            joined[-1].raw += piece.raw
        else:
            joined.append(piece)
            spelling = len(piece.raw) == 1
    return joined


def dominant_script(raw: str) -> str:
    """The script of the letters no other script has; ties go to the more frequent script."""
    lat = cyr = lat_any = cyr_any = 0
    for ch in raw:
        script = script_of(ch)
        if script == LATIN:
            lat_any += 1
            lat += ch not in _AMBIGUOUS
        elif script == CYRILLIC:
            cyr_any += 1
            cyr += ch not in _AMBIGUOUS
    if lat != cyr:
        return LATIN if lat > cyr else CYRILLIC
    if lat_any != cyr_any:
        return LATIN if lat_any > cyr_any else CYRILLIC
    return LATIN if lat_any else NONE


_PURE_LATIN = re.compile(r"[a-z]+")
_PURE_CYRILLIC = re.compile(r"[а-яё]+")


def fold_piece(piece: Piece) -> str:
    """Write the piece in its dominant script, leetspeak and masks resolved."""
    raw = piece.raw
    if _PURE_LATIN.fullmatch(raw):
        piece.script = LATIN
        return raw
    if _PURE_CYRILLIC.fullmatch(raw):
        piece.script = CYRILLIC
        return raw
    script = piece.script = dominant_script(raw)
    if script == NONE:
        # Only digits and symbols: nothing to read as letters.
        return "".join(MASK if ch in _MASK_CHARS else ch for ch in raw)
    solid = _solid_runs(raw, piece.cuts)
    leet = _LEET_CYRILLIC if script == CYRILLIC else _LEET_LATIN
    out = []
    for i, ch in enumerate(raw):
        ch_script = script_of(ch)
        if ch_script == NONE:
            if ch in _MASK_CHARS:
                out.append(MASK)
            else:
                out.append(leet.get(ch, ch))
        elif ch_script == script or i in solid:
            out.append(ch)
        elif script == CYRILLIC:
            out.append(_LOOK_LAT_TO_CYR.get(ch) or _LAT_TO_CYR.get(ch, ch))
        else:
            out.append(_LOOK_CYR_TO_LAT.get(ch) or _CYR_TO_LAT.get(ch, ch))
    return "".join(out)


def _solid_runs(raw: str, cuts: frozenset[int]) -> set[int]:
    """Positions of other-script words that stand on their own (``Fuck`` in ``FuckПутин``)."""
    if not cuts:
        return set()
    solid: set[int] = set()
    edges = sorted({0, len(raw), *cuts})
    for start, end in zip(edges, edges[1:]):
        part = raw[start:end]
        if len(part) >= 3 and any(script_of(ch) != NONE and ch not in _AMBIGUOUS for ch in part):
            solid.update(range(start, end))
    return solid


_LAT_SEQ = re.compile("|".join(seq for seq, _ in _LAT_TO_CYR_SEQ))
_LAT_SEQ_MAP = dict(_LAT_TO_CYR_SEQ)
_Y_AFTER_VOWEL = re.compile(r"(?<=[aeiouаеиоуыэюяё])y")
_LAT_SINGLE = str.maketrans({**_LAT_TO_CYR, "y": "ы"})


def translit_lat_to_cyr(text: str) -> str:
    """``blyad`` -> ``бляд``, ``khuy`` -> ``хуй``, ``pizdec`` -> ``пиздец``."""
    text = _LAT_SEQ.sub(lambda m: _LAT_SEQ_MAP[m.group()], text)
    text = _Y_AFTER_VOWEL.sub("й", text)
    return text.translate(_LAT_SINGLE)


_LOOK_TABLE = str.maketrans({**_LAT_TO_CYR, **_LOOK_LAT_TO_CYR})
_CYR_TABLE = str.maketrans(_CYR_TO_LAT)


def lookalike_lat_to_cyr(text: str) -> str:
    """``cyka`` -> ``сука``: each Latin letter as the Cyrillic letter it looks like."""
    return text.translate(_LOOK_TABLE)


def translit_cyr_to_lat(text: str) -> str:
    return text.translate(_CYR_TABLE)


_RUNS = re.compile(r"(.)\1+")


def collapse_text(text: str) -> str:
    """``fuuuck`` -> ``fuck`` (the fast path of :func:`collapse`)."""
    return _RUNS.sub(r"\1", text)


def collapse(text: str) -> tuple[str, list[int]]:
    """``fuuuck`` -> (``fuck``, [1, 3, 1, 1])."""
    letters: list[str] = []
    runs: list[int] = []
    prev = None
    for ch in text:
        if ch == prev:
            runs[-1] += 1
        else:
            letters.append(ch)
            runs.append(1)
            prev = ch
    return "".join(letters), runs


def build_view(name: str, words: list[str], cuts: list[frozenset[int]]) -> View:
    """Join piece texts into one collapsed view; piece edges and cuts become bounds.

    ``View.words`` keep real double letters but not stretched runs (``сууука`` -> ``сука``),
    so dictionaries see the word that was meant.
    """
    text_parts: list[str] = []
    runs: list[int] = []
    bounds = {0}
    spans = []
    offsets: list[int] = []
    plain_words: list[str] = []
    pos = 0
    plain_pos = 0
    for index, word in enumerate(words):
        letters, word_runs = collapse(word)
        start = pos
        raw_index = 0
        plain: list[str] = []
        for k, run in enumerate(word_runs):
            if raw_index in cuts[index]:
                bounds.add(start + k)
            offsets.append(plain_pos + len(plain))
            plain.append(letters[k] * (run if run <= 2 else 1))
            raw_index += run
        text_parts.append(letters)
        runs.extend(word_runs)
        pos += len(letters)
        plain_word = "".join(plain)
        plain_words.append(plain_word)
        plain_pos += len(plain_word)
        spans.append((start, pos, index))
        bounds.add(pos)
    offsets.append(plain_pos)
    return View(name, "".join(text_parts), runs, frozenset(bounds), spans, plain_words, offsets)


@dataclass
class ViewSource:
    """The piece texts of one view; the detailed :class:`View` is built only when needed."""

    name: str
    words: list[str]
    cuts: list[frozenset[int]]

    @property
    def text(self) -> str:
        return "".join(collapse_text(word) for word in self.words)

    def build(self) -> View:
        return build_view(self.name, self.words, self.cuts)


@dataclass
class Analysis:
    """Everything the matcher needs about one tag."""

    normalized: str
    pieces: list[Piece]
    views: list[ViewSource]


def analyse(normalized: str) -> Analysis:
    """Cut, fold and transliterate a normalized tag into its view sources."""
    pieces = split_pieces(normalized)
    folded = []
    scripts = set()
    for piece in pieces:
        piece.folded = fold_piece(piece)
        folded.append(piece.folded)
        scripts.add(piece.script)
    cuts = [piece.cuts for piece in pieces]
    views = [ViewSource("text", folded, cuts)]
    no_cuts = [frozenset()] * len(pieces)
    if LATIN in scripts:
        views.append(ViewSource("translit", [translit_lat_to_cyr(p.folded) if p.script == LATIN else p.folded
                                             for p in pieces], no_cuts))
        views.append(ViewSource("lookalike", [lookalike_lat_to_cyr(p.folded) if p.script == LATIN else p.folded
                                              for p in pieces], no_cuts))
    if CYRILLIC in scripts:
        views.append(ViewSource("translit_en", [translit_cyr_to_lat(p.folded) if p.script == CYRILLIC
                                                else p.folded for p in pieces], no_cuts))
    return Analysis(normalized, pieces, views)

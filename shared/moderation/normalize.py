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
- ``translit_en``: Cyrillic pieces transliterated to Latin (``порн`` -> ``porn``);
- ``masked``: leet digits inside Latin words as hidden letters (``f0ck`` -> ``f*ck``);
- ``phonetic``: Latin pieces as English sounds (``phuck`` -> ``fuk``), for phonetic term patterns.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

LATIN, CYRILLIC, NONE = "latin", "cyrillic", "none"

MASK = "*"
_MASK_CHARS = frozenset("*#%")
# Leetspeak per target script. "π" stands for "3.14" (пи / pi).
_LEET_LATIN = {"0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "b", "7": "t", "8": "b", "9": "g",
               "$": "s", "@": "a", "!": "i", "|": "l", "€": "e", "£": "l", "π": "pi"}
_LEET_CYRILLIC = {"0": "о", "1": "и", "3": "з", "4": "ч", "6": "б", "8": "в", "9": "я",
                  "$": "с", "@": "а", "!": "и", "|": "л", "€": "е", "π": "пи"}

# Letters that look alike in the two scripts (lower case).
_LOOK_LAT_TO_CYR = {"a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "k": "к", "m": "м", "n": "п", "o": "о",
                    "p": "р", "r": "г", "t": "т", "u": "и", "x": "х", "y": "у"}
_LOOK_CYR_TO_LAT = {"а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
                    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q",
                    "ԝ": "w", "ь": "b", "п": "n", "г": "r", "и": "u"}
LOOK_LAT_TO_CYR = _LOOK_LAT_TO_CYR
# Letters that exist only in one script (no look-alike): they decide the dominant script.
_AMBIGUOUS = frozenset(_LOOK_LAT_TO_CYR) | frozenset(_LOOK_CYR_TO_LAT)

# Phonetic transliteration, longest sequences first.
_LAT_TO_CYR_SEQ = (("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
                   ("ya", "я"), ("ja", "я"), ("yu", "ю"), ("ju", "ю"), ("yo", "е"), ("jo", "е"), ("ye", "е"), ("je", "е"),
                   ("ck", "к"), ("ph", "ф"))
_LAT_TO_CYR = {"a": "а", "b": "б", "c": "ц", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и", "j": "й",
               "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р", "s": "с", "t": "т",
               "u": "у", "v": "в", "w": "в", "x": "кс", "z": "з"}
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
    """The key a hashtag is stored under: cleaned, casefolded, look-alike letters canonical.

    ``#Fuck`` and ``fuck`` are one tag, and so are ``trаvel`` (Cyrillic ``а``) and ``travel``.
    """
    return canonicalize(clean(tag).casefold())[0]


# -- confusables (Unicode TR39 skeletons, from ICU) -------------------------------------------
# ICU (PyPI ``pyicu-wheels``) ships the TR39 confusables data; it is imported on the first tag
# with a letter outside ASCII and Cyrillic, so most requests never load it.
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_COMMON_SCRIPTS = frozenset({"Zyyy", "Zinh", "Zzzz"})
# TR39 "highly restrictive" combinations: Latin with these East Asian scripts is not mixed.
_ASIAN_COMBOS = (frozenset({"Latn", "Hani", "Hira", "Kana"}), frozenset({"Latn", "Hani", "Bopo"}),
                 frozenset({"Latn", "Hani", "Hang"}))
_CYRILLIC_LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґѕјԁԛԝһӏ"


@lru_cache(maxsize=1)
def _spoof_checker():
    import icu

    return icu.SpoofChecker()


@lru_cache(maxsize=4096)
def skeleton(ch: str) -> str:
    """The TR39 skeleton of one character, casefolded (``υ`` -> ``u``, ``ᴜ`` -> ``u``)."""
    return _spoof_checker().getSkeleton(0, ch).casefold()


@lru_cache(maxsize=4096)
def char_script(ch: str) -> str:
    """ISO 15924 code of a letter's script (``Latn``, ``Cyrl``, ``Grek``, ...)."""
    if "a" <= ch <= "z":
        return "Latn"
    if "\u0400" <= ch <= "\u052f":
        return "Cyrl"
    import icu

    return icu.Script.getScript(ch).getShortName()


@lru_cache(maxsize=1)
def _targets() -> dict[str, dict[str, str]]:
    """Skeleton -> the letter of Latin (ASCII) or Cyrillic that has it, for letters confusable across scripts."""
    latin = {skeleton(c): c for c in "abcdefghijklmnopqrstuvwxyz"}
    cyrillic = {skeleton(c): c for c in _CYRILLIC_LETTERS if skeleton(c) in latin}
    return {"Latn": latin, "Cyrl": cyrillic}


def canonicalize(text: str) -> tuple[str, bool]:
    """Fold look-alike letters of a cleaned, casefolded tag; also say whether a word mixes scripts.

    Non-ASCII Latin letters with an ASCII skeleton become ASCII (``ᴜ``, ``ɪ``). In a word (a run
    of letters) that mixes scripts, a run of another script whose every letter has a TR39
    look-alike in the word's dominant script is written in that script (``trаvel`` -> ``travel``,
    ``xyй`` -> ``хуй``); a run that does not (``Путин`` in ``FuckПутин``) stays. ``mixed`` is
    true when a word mixed scripts before folding (outside TR39's Latin + CJK combinations).
    """
    if text.isascii() or (_PURE_CYRILLIC_TEXT.fullmatch(text) and not _MIXED_PAIR.search(text)):
        return text, False
    mixed = False

    def fold(match: re.Match) -> str:
        nonlocal mixed
        word, word_mixed = _canonical_word(match.group())
        mixed = mixed or word_mixed
        return word

    return _LETTER_RUN.sub(fold, text), mixed


_PURE_CYRILLIC_TEXT = re.compile(r"[\x00-\x7f\u0400-\u04ff]*")
_MIXED_PAIR = re.compile(r"[a-z][\u0400-\u04ff]|[\u0400-\u04ff][a-z]")


def _canonical_word(word: str) -> tuple[str, bool]:
    if word.isascii():
        return word, False
    letters = [_ascii_latin(ch) for ch in word]
    scripts = [char_script(ch) for ch in letters]
    present = set(scripts) - _COMMON_SCRIPTS
    if len(present) < 2:
        return "".join(letters), False
    if any(present <= combo for combo in _ASIAN_COMBOS):
        return "".join(letters), False
    dominant = _dominant(letters, scripts)
    target = _targets().get(dominant, {})
    out: list[str] = []
    i = 0
    while i < len(letters):
        j = i
        while j < len(letters) and scripts[j] == scripts[i]:
            j += 1
        segment = letters[i:j]
        if scripts[i] != dominant and target and all(skeleton(ch) in target for ch in segment):
            segment = [target[skeleton(ch)] for ch in segment]
        out.extend(segment)
        i = j
    return "".join(out), True


def _ascii_latin(ch: str) -> str:
    """``ᴜ`` -> ``u``: a non-ASCII Latin letter whose skeleton is one ASCII letter."""
    if ch.isascii() or "\u0400" <= ch <= "\u052f" or char_script(ch) != "Latn":
        return ch
    sk = skeleton(ch)
    return sk if len(sk) == 1 and "a" <= sk <= "z" else ch


def _dominant(letters: list[str], scripts: list[str]) -> str:
    """The script with most letters that have no look-alike elsewhere; ties go to the more letters."""
    look_alike = set(_targets()["Latn"]) | set(_targets()["Cyrl"])
    counts: dict[str, list[int]] = {}
    for ch, script in zip(letters, scripts):
        if script in _COMMON_SCRIPTS:
            continue
        count = counts.setdefault(script, [0, 0])
        count[0] += skeleton(ch) not in look_alike
        count[1] += 1
    return max(counts, key=lambda script: (counts[script], script in ("Latn", "Cyrl")))


def fold_exotic(text: str) -> str:
    """For matching only: letters outside ASCII and Cyrillic become their ASCII skeleton (``ᏚᎻᎥᎢ`` -> ``shit``)."""
    if text.isascii() or _PURE_CYRILLIC_TEXT.fullmatch(text):
        return text
    out = []
    for ch in text:
        if ch.isalpha() and not ch.isascii() and not "\u0400" <= ch <= "\u052f":
            sk = skeleton(ch)
            if sk.isascii() and sk.isalpha():
                ch = sk
        out.append(ch)
    return "".join(out)


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
    for start, end in itertools.pairwise(edges):
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


# The other common choices of informal transliteration: ``ia``/``iu``/``io``/``je`` for я/ю/ё/е,
# ``j`` for ж (``jopa``), ``w`` for ш (``wluha``), ``c`` for к (``curva``), and digits read as Cyrillic
# (``4`` for ч: ``su4ka``, ``9`` for я).
_ALT_SEQ_MAP = {**{k: v for k, v in _LAT_SEQ_MAP.items() if k[0] != "j"}, "ia": "я", "iu": "ю", "io": "е"}
_ALT_SEQ = re.compile("|".join(sorted(_ALT_SEQ_MAP, key=len, reverse=True)))
_ALT_SINGLE = str.maketrans({**_LAT_TO_CYR, "y": "ы", "j": "ж", "w": "ш", "c": "к", "x": "х",
                             **{k: v for k, v in _LEET_CYRILLIC.items() if len(k) == 1}, "'": "ь"})


_J_AFTER_VOWEL = re.compile(r"(?<=[aeiouyаеиоуыэюяёй])j")


def translit_lat_to_cyr_alt(raw: str) -> str:
    """The second reading of a Latin piece: ``jopa`` -> ``жопа``, ``su4ka`` -> ``сучка``, ``bliad`` -> ``бляд``."""
    text = _ALT_SEQ.sub(lambda m: _ALT_SEQ_MAP[m.group()], raw)
    text = _Y_AFTER_VOWEL.sub("й", _J_AFTER_VOWEL.sub("й", text))
    text = text.translate(_ALT_SINGLE)
    return "".join(MASK if ch in _MASK_CHARS else ch for ch in text)


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
        plain_len = 0
        for k, run in enumerate(word_runs):
            if raw_index in cuts[index]:
                bounds.add(start + k)
            # Offsets count letters, not runs: "неебет" keeps its "ее".
            offsets.append(plain_pos + plain_len)
            kept = run if run <= 2 else 1
            plain.append(letters[k] * kept)
            plain_len += kept
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


# Letters drawn with symbols, and apostrophes inside words (``bl'ad``, ``под'ебка``).
_GLYPHS_CYRILLIC = (("}|{", "ж"), (">|<", "ж"), ("|\\|", "и"), ("/\\", "л"), ("}{", "х"), ("><", "х"))
_GLYPHS_LATIN = (("|\\|", "n"), ("/\\", "a"), ("\\/", "v"), ("|_|", "u"), ("}{", "x"), ("><", "x"))
_GLYPH = re.compile(r"[|/\\}{><]")
_APOSTROPHE = re.compile(r"(?<=\w)['’ʼ`](?=\w)")


def _undraw(text: str) -> str:
    """Letters drawn with symbols become letters (``ш/\\юха`` -> ``шлюха``); apostrophes in words go."""
    if _GLYPH.search(text):
        cyrillic = any("а" <= ch <= "я" for ch in text)
        for glyph, letter in _GLYPHS_CYRILLIC if cyrillic else _GLYPHS_LATIN:
            text = text.replace(glyph, letter)
    if "'" in text or "’" in text or "ʼ" in text or "`" in text:
        text = _APOSTROPHE.sub("", text)
    return text


def analyse(normalized: str) -> Analysis:
    """Cut, fold and transliterate a normalized tag into its view sources."""
    pieces = split_pieces(_undraw(fold_exotic(normalized)))
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
        views += _latin_views(pieces, no_cuts)
    if CYRILLIC in scripts:
        views.append(ViewSource("translit_en", [translit_cyr_to_lat(p.folded) if p.script == CYRILLIC
                                                else p.folded for p in pieces], no_cuts))
    return Analysis(normalized, pieces, views)


def _latin_views(pieces: list[Piece], no_cuts: list[frozenset[int]]) -> list[ViewSource]:
    """The readings of the Latin pieces: as Russian (two ways), as look-alikes, leet as masks, phonetic English."""
    latin = [p.script == LATIN for p in pieces]
    # A stretched letter is one letter to the reader: "blyaaat" is "blyat", not "бляаат".
    plain = [unstretch(p.folded) if is_latin else p.folded for p, is_latin in zip(pieces, latin)]
    translit = [translit_lat_to_cyr(w) if is_latin else w for w, is_latin in zip(plain, latin)]
    views = [ViewSource("translit", translit, no_cuts)]
    alt = [translit_lat_to_cyr_alt(unstretch(p.raw)) if is_latin and p.raw.isascii() else p.folded
           for p, is_latin in zip(pieces, latin)]
    if alt != translit:
        views.append(ViewSource("translit", alt, no_cuts))
    views.append(ViewSource("lookalike", [lookalike_lat_to_cyr(w) if is_latin else w
                                          for w, is_latin in zip(plain, latin)], no_cuts))
    # Digits read as Cyrillic in a look-alike word: "cy4ka" is "сучка" (4 is ч), not "cyaka".
    look_leet = [lookalike_lat_to_cyr_leet(p.raw) if is_latin and has_inner_leet(p.raw) else w
                 for p, w, is_latin in zip(pieces, views[-1].words, latin)]
    if look_leet != views[-1].words:
        views.append(ViewSource("lookalike", look_leet, no_cuts))
    # A digit in place of a letter hides a letter: "f4ck", "sl00t" (4 is not "a" here, 0 not "o").
    masked = [leet_as_masks(p.raw) if is_latin and has_inner_leet(p.raw) else p.folded
              for p, is_latin in zip(pieces, latin)]
    if masked != [p.folded for p in pieces]:
        views.append(ViewSource("masked", masked, no_cuts))
    # Searched for phonetic spellings of the English terms only (``kunt`` reads as itself).
    views.append(ViewSource("phonetic", [phonetic_en(w) if is_latin else w for w, is_latin in zip(plain, latin)],
                            no_cuts))
    return views


# -- readings added in round 3 of issue 11 ------------------------------------------------------
_STRETCHED = re.compile(r"(.)\1{2,}")
_INNER_LEET = re.compile(r"(?<=[a-z])[0-9$@!]+(?=[a-z])|(?<=[a-z]{2})[0-9$@!]$")


def unstretch(text: str) -> str:
    """A letter typed 3+ times is one letter (``blyaaat`` -> ``blyat``); real doubles stay."""
    return _STRETCHED.sub(r"\1", text)


def has_inner_leet(raw: str) -> bool:
    """Does a digit or leet symbol stand for a letter inside a Latin word (``f4ck``, ``hu1``, not ``2day``)?"""
    return raw.isascii() and bool(_INNER_LEET.search(raw))


def leet_as_masks(raw: str) -> str:
    """Leet characters between letters as masks: ``f4ck`` -> ``f*ck``, ``sl00t`` -> ``sl**t``."""
    return _INNER_LEET.sub(lambda m: MASK * len(m.group()), unstretch(raw))


# ``r`` is ``р`` here, as typed (``cy4ara`` is ``сучара``): next to leet digits it is no ``г``.
_LOOK_LEET_TABLE = str.maketrans({**_LAT_TO_CYR, **_LOOK_LAT_TO_CYR, "r": "р",
                                  **{k: v for k, v in _LEET_CYRILLIC.items() if len(k) == 1}})


def lookalike_lat_to_cyr_leet(raw: str) -> str:
    """``cy4ka`` -> ``сучка``: look-alike letters, digits read as Cyrillic leet (4 = ч, 3 = з, 6 = б)."""
    return unstretch(raw).translate(_LOOK_LEET_TABLE)


# Phonetic English: spellings of one sound become one (``phuck``, ``kunt``, ``fuq``; ``-a``/``-ah`` for ``-er``).
_PHONETIC = (
    # "biatch", "beyotch" are "bitch" (first: "tch" is rewritten below); "azz" is "ass" (not "jizz").
    (re.compile(r"(?:ia|eyo)(?=tch)"), "i"), (re.compile(r"(?<=a)zz"), "ss"),
    (re.compile(r"ph"), "f"), (re.compile(r"ck|q|c(?![eiy])"), "k"), (re.compile(r"c(?=[eiy])"), "s"),
    (re.compile(r"(?<=[^aeiou])(?:er|ah|uh)$"), "a"))


def phonetic_en(text: str) -> str:
    """A Latin word as it sounds, for matching only: ``phuck`` -> ``fuk``, ``fucker`` -> ``fuka``."""
    for pattern, repl in _PHONETIC:
        text = pattern.sub(repl, text)
    return text


# How Russian spells English vowels: "мудборд" is "moodboard", "спидран" is "speedrun".
_EN_VOWEL_READINGS = {"i": ("i", "ee"), "u": ("u", "oo"), "o": ("o", "oa"), "a": ("a", "u")}
_MAX_EN_READINGS = 256


def english_readings(cyrillic: str) -> list[str]:
    """Latin spellings an English loanword written in Cyrillic may have (``спидран`` -> ``speedrun``, ...)."""
    base = translit_cyr_to_lat(cyrillic)
    options = [_EN_VOWEL_READINGS.get(ch, (ch,)) for ch in base]
    count = 1
    for option in options:
        count *= len(option)
    if count > _MAX_EN_READINGS:
        return [base]
    return ["".join(choice) for choice in itertools.product(*options)]

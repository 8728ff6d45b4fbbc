"""Reading catalog CSV files into validated records: paths in, records and problems out.

Every bad row is reported with its line number and the reason, then skipped, so a
researcher can fix the file; nothing is dropped silently. No Django here.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Spotify's audio features that take part in similarity: the continuous ones.
#: key, mode and time_signature are kept with the track but are categories, not distances.
SPOTIFY_SIMILARITY_FEATURES = [
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
]

#: Allowed range of each numeric column (inclusive), and whether it must be a whole number.
SPOTIFY_RANGES: dict[str, tuple[float, float, bool]] = {
    "popularity": (0, 100, True),
    "duration_ms": (1, 24 * 60 * 60 * 1000, True),
    "danceability": (0, 1, False),
    "energy": (0, 1, False),
    "key": (-1, 11, True),
    "loudness": (-60, 5, False),
    "mode": (0, 1, True),
    "speechiness": (0, 1, False),
    "acousticness": (0, 1, False),
    "instrumentalness": (0, 1, False),
    "liveness": (0, 1, False),
    "valence": (0, 1, False),
    "tempo": (0, 300, False),
    "time_signature": (0, 7, True),
}
SPOTIFY_REQUIRED = ["track_id", "artists", "track_name", *SPOTIFY_RANGES, "explicit", "track_genre"]
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


@dataclass
class TrackRecord:
    """One track as a catalog file describes it, ready to be written."""

    external_id: str
    title: str
    artists: list[str]
    album: str = ""
    genres: list[str] = field(default_factory=list)
    popularity: int | None = None
    explicit: bool | None = None
    duration_s: float | None = None
    features: dict[str, float] = field(default_factory=dict)
    audio: str = ""  # a file name (generic format) or ""
    preview_url: str = ""
    license: str = ""  # e.g. CC BY 4.0: shown where participants hear the clip, and exported
    attribution: str = ""  # how the clip's author asks to be credited

    @property
    def artist(self) -> str:
        return ", ".join(self.artists)


@dataclass(frozen=True)
class Problem:
    line: int | None  # None for a problem that is not about one line of the file
    reason: str

    def __str__(self):
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass
class ParseResult:
    records: list[TrackRecord]
    problems: list[Problem]
    rows: int  # data rows read, good and bad
    fields: tuple[str, ...]  # the Track fields this format provides; an import leaves the others alone
    columns: list[str] = field(default_factory=list)  # the file's columns as read (after --columns), in order
    ignored: list[str] = field(default_factory=list)  # columns read but not used (--ignore-columns)


def parse_columns(text: str) -> dict[str, str]:
    """``style=genre,path=audio`` -> {"style": "genre", "path": "audio"}: the file's name = the format's name."""
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        theirs, sep, ours = (x.strip() for x in part.partition("="))
        if not sep or not theirs or not ours:
            raise ValueError(f"{part!r}: write THEIRS=OURS, e.g. style=genre")
        mapping[theirs] = ours
    return mapping


def _columns(path: Path, known: set[str], columns: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The file's header with ``columns`` applied: (the file's name -> the format's name, the columns the
    format does not read)."""
    header = _header(path)
    absent = [theirs for theirs in columns if theirs not in header]
    if absent:
        raise ValueError(f"the column mapping names {', '.join(absent)}, which {path.name} does not have "
                         f"(its columns: {', '.join(header)})")
    renamed = {name: columns.get(name, name) for name in header}
    unknown = [theirs for theirs, ours in renamed.items() if ours not in known and ours not in ("", "Unnamed: 0")]
    return renamed, unknown


class RowError(ValueError):
    pass


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the line is where the row starts in the file."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            return
        # The Kaggle export starts with an unnamed index column; its name is "" or "Unnamed: 0".
        names = [name.strip() for name in header]
        start = reader.line_num + 1
        while True:
            # A malformed row (a field past the csv module's limit, a stray NUL...) is that row's problem,
            # reported with its line; the reader goes on with the next one.
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                line, start = start, reader.line_num + 1
                yield line, {"__error__": f"unreadable row: {error}"}
                continue
            line, start = start, reader.line_num + 1
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(names):
                yield line, {"__error__": f"expected {len(names)} fields, found {len(values)}"}
                continue
            yield line, dict(zip(names, values))


def _header(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        try:
            return [name.strip() for name in next(csv.reader(handle), [])]
        except csv.Error as error:
            raise ValueError(f"line 1: the header cannot be read ({error})") from error


def _number(row: dict, name: str) -> float:
    raw = row[name].strip()
    if raw == "":
        raise RowError(f"{name} is missing")
    try:
        value = float(raw)
    except ValueError:
        raise RowError(f"{name} is not a number: {raw!r}") from None
    low, high, whole = SPOTIFY_RANGES[name]
    if not math.isfinite(value) or not low <= value <= high:
        raise RowError(f"{name}={raw} is outside {low:g}..{high:g}")
    if whole and value != int(value):
        raise RowError(f"{name}={raw} is not a whole number")
    return value


def _spotify_record(row: dict) -> TrackRecord:
    track_id = row["track_id"].strip()
    if not track_id:
        raise RowError("track_id is missing")
    title = row["track_name"].strip()
    if not title:
        raise RowError("track_name is missing")
    artists = [name.strip() for name in row["artists"].split(";") if name.strip()]
    if not artists:
        raise RowError("artists is missing")
    explicit = row["explicit"].strip().lower()
    if explicit not in _TRUE | _FALSE:
        raise RowError(f"explicit is not true or false: {row['explicit']!r}")
    numbers = {name: _number(row, name) for name in SPOTIFY_RANGES}
    genre = row["track_genre"].strip()
    return TrackRecord(
        external_id=track_id,
        title=title,
        artists=artists,
        album=row.get("album_name", "").strip(),
        genres=[genre] if genre else [],
        popularity=int(numbers.pop("popularity")),
        explicit=explicit in _TRUE,
        duration_s=round(numbers.pop("duration_ms") / 1000, 3),
        features=numbers,
    )


def _merge(first: TrackRecord, again: TrackRecord) -> None:
    """The same track listed under another genre: one track with both genres."""
    for genre in again.genres:
        if genre not in first.genres:
            first.genres.append(genre)


SPOTIFY_FIELDS = (
    "title", "artist", "artists", "album", "style", "genres", "popularity", "explicit", "duration_s", "features",
)
GENERIC_FIELDS = ("title", "artist", "artists", "style", "genres", "preview_url", "license", "attribution")


def _read(
    path: Path,
    required: list[str],
    make: Callable[[dict], TrackRecord],
    fields: tuple[str, ...],
    progress: Callable[[], None] | None,
    known: set[str],
    columns: dict[str, str] | None = None,
    ignore_columns: bool = False,
) -> ParseResult:
    readable = known | set(required)
    renamed, ignored = _columns(path, readable, columns or {})
    missing = [name for name in required if name not in renamed.values()]
    refused = ignored if not ignore_columns else []
    if missing or refused:
        raise ValueError(" ".join(filter(None, [
            f"{path.name} lacks the column(s) {', '.join(missing)}." if missing else "",
            f"It has column(s) this format does not read: {', '.join(refused)}." if refused else "",
            f"Map yours to the format's (--columns THEIRS=OURS, e.g. style=genre; it reads {', '.join(sorted(readable))})"
            + (", or pass --ignore-columns to leave the others out." if refused else "."),
        ])))
    by_id: dict[str, TrackRecord] = {}
    problems: list[Problem] = []
    n = 0
    for line, row in _rows(path):
        n += 1
        if progress:
            progress()
        if "__error__" in row:
            problems.append(Problem(line, row["__error__"]))
            continue
        try:
            record = make({renamed.get(name, name): value for name, value in row.items()})
        except RowError as error:
            problems.append(Problem(line, str(error)))
            continue
        if record.external_id in by_id:
            _merge(by_id[record.external_id], record)
        else:
            by_id[record.external_id] = record
    return ParseResult(records=list(by_id.values()), problems=problems, rows=n, fields=fields,
                       columns=list(renamed.values()), ignored=ignored)


def read_spotify(path: str | Path, progress: Callable[[], None] | None = None, columns: dict[str, str] | None = None,
                 ignore_columns: bool = False) -> ParseResult:
    """Read the Spotify tracks dataset's CSV (with or without its leading unnamed index column)."""
    return _read(Path(path), SPOTIFY_REQUIRED, _spotify_record, SPOTIFY_FIELDS, progress, {"album_name"},
                 columns, ignore_columns)


def _generic_record(row: dict) -> TrackRecord:
    track_id = row["id"].strip()
    if not track_id:
        raise RowError("id is missing")
    title = row["title"].strip()
    if not title:
        raise RowError("title is missing")
    genre = (row.get("genre") or "").strip()
    return TrackRecord(
        external_id=track_id,
        title=title,
        artists=[name.strip() for name in row["artist"].split(";") if name.strip()],
        genres=[genre] if genre else [],
        audio=(row.get("audio") or "").strip(),
        preview_url=(row.get("preview_url") or "").strip(),
        license=(row.get("license") or "").strip()[:100],
        attribution=(row.get("attribution") or "").strip()[:300],
    )


#: The columns the generic format reads: id, title and artist required, the rest optional.
GENERIC_COLUMNS = {"id", "title", "artist", "genre", "audio", "preview_url", "license", "attribution"}


def read_generic(path: str | Path, progress: Callable[[], None] | None = None, columns: dict[str, str] | None = None,
                 ignore_columns: bool = False) -> ParseResult:
    """Read a plain catalog: ``id,title,artist[,genre][,audio][,preview_url][,license][,attribution]``; a file
    with other names maps them (``columns``: the file's name -> one of GENERIC_COLUMNS)."""
    return _read(Path(path), ["id", "title", "artist"], _generic_record, GENERIC_FIELDS, progress, GENERIC_COLUMNS,
                 columns, ignore_columns)


def count_data_lines(path: str | Path) -> int:
    """A quick upper bound on the rows, for sizing a progress bar."""
    with open(path, "rb") as handle:
        return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)

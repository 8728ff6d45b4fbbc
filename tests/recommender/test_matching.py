import csv
import io

import pytest
from django.core.management import call_command

from recommender.matching import (
    MATCH,
    NEAR_MISS,
    NO_MATCH,
    Candidate,
    TrackMatcher,
    fold,
    normalise_title,
    split_artists,
)
from tests.factories import CatalogFactory, TrackFactory


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Hey Jude - Remastered 2015", "hey jude"),
        ("Yesterday - Remastered 2009", "yesterday"),
        ("Señorita (feat. Camila Cabello)", "senorita"),
        ("Blinding Lights [Radio Edit]", "blinding lights"),
        ("Wonderwall - Album Version", "wonderwall"),
        ("Hurt - Live at the Roundhouse", "hurt"),
        ("Love - Part 2", "love part 2"),  # a dash that is part of the name stays
        ("ＦＵＬＬＷＩＤＴＨ", "fullwidth"),  # NFKC
        ("(Untitled)", "untitled"),  # a title that is only brackets keeps them
    ],
)
def test_titles_lose_edition_suffixes_and_featured_artists(title, expected):
    assert normalise_title(title) == expected


def test_accents_are_folded_but_no_letters_are_dropped():
    assert fold("Björk Guðmundsdóttir") == "bjork guðmundsdottir"
    assert fold("Mø") == "mo"
    assert fold("Кино") == "кино" and fold("坂本龍一") == "坂本龍一"
    assert fold("Beyoncé") == fold("BEYONCE")


def test_artist_credits_are_split_main_artist_first():
    assert split_artists("Beyoncé feat. JAY-Z") == ["beyonce", "jay z"]
    assert split_artists("Simon & Garfunkel") == ["simon", "garfunkel"]
    assert split_artists(["Daft Punk", "Pharrell Williams"]) == ["daft punk", "pharrell williams"]


@pytest.fixture
def matcher():
    return TrackMatcher(
        [
            Candidate("sp1", "Hey Jude", "The Beatles"),
            Candidate("sp2", "Let It Be", "The Beatles"),
            Candidate("sp3", "Get Lucky", "Daft Punk;Pharrell Williams"),
            Candidate("sp4", "Jóga", "Björk"),
            Candidate("sp5", "Группа крови", "Кино"),
        ]
    )


@pytest.mark.parametrize(
    ("title", "artists", "key"),
    [
        ("Hey Jude - Remastered 2015", "The Beatles", "sp1"),
        ("HEY JUDE", "the beatles", "sp1"),
        ("Get Lucky (feat. Pharrell Williams) - Radio Edit", "Daft Punk, Pharrell Williams", "sp3"),
        ("Get Lucky", "Pharrell Williams", "sp3"),  # found through the second credited artist
        ("Joga", "Bjork", "sp4"),
        ("Группа крови", "Кино", "sp5"),
        ("Let It Be", "Beatles, The", "sp2"),  # artist spelled differently: fuzzy artist fallback
    ],
)
def test_noisy_metadata_finds_its_track(matcher, title, artists, key):
    result = matcher.match(title, artists)
    assert (result.status, result.candidate.key) == (MATCH, key)


def test_a_typo_is_a_near_miss_and_an_unknown_song_no_match(matcher):
    near = matcher.match("Hye Jdue", "The Beatles")
    assert near.status == NEAR_MISS and near.candidate.key == "sp1"
    assert matcher.match("Yellow Submarine", "The Beatles").status == NO_MATCH
    assert matcher.match("Hey Jude", "Nobody We Know").status == NO_MATCH


@pytest.mark.django_db
def test_match_catalog_writes_a_review_csv_and_can_take_over_preview_urls(tmp_path):
    catalog = CatalogFactory(slug="spotify")
    TrackFactory(catalog=catalog, external_id="sp1", title="Hey Jude", artist="The Beatles", artists=["The Beatles"])
    TrackFactory(catalog=catalog, external_id="sp2", title="Jóga", artist="Björk", artists=["Björk"])
    source = tmp_path / "deezer.csv"
    source.write_text(
        "item_id,track_name,artists,country,preview_url\n"
        "d1,Hey Jude - Remastered 2015,The Beatles,GB,https://cdn.example.org/d1.mp3\n"
        "d2,Joga,Bjork,IS,\n"
        "d3,Something Else,Someone,US,https://cdn.example.org/d3.mp3\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    call_command(
        "match_catalog", str(source), "--against", "spotify", "--out", str(tmp_path / "review.csv"), "--apply",
        stdout=out, verbosity=0,
    )
    assert "3 rows: 2 matched (66.7%)" in out.getvalue()
    review = {row["item_id"]: row for row in csv.DictReader((tmp_path / "review.csv").open(encoding="utf-8"))}
    assert (review["d1"]["status"], review["d1"]["track_id"]) == ("match", "sp1")
    assert (review["d2"]["status"], review["d2"]["track_id"]) == ("match", "sp2")
    assert review["d3"]["status"] == "no-match" and review["d3"]["track_id"] == ""
    assert catalog.tracks.get(external_id="sp1").preview_url == "https://cdn.example.org/d1.mp3"

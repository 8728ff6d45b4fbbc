import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender import csv_formats, services, synthetic
from recommender.models import Catalog, SimilarityIndex, Track

# Analysis jobs are sent once the import commits (a worker must find the tracks), as in a deployment.
pytestmark = pytest.mark.django_db(transaction=True)

HEADER = (
    ",track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,loudness,"
    "mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre"
)
GOOD = "{i},{id},{artists},Album,{title},50,200000,False,0.5,0.6,5,-7.5,1,0.05,0.3,0.0,0.1,0.4,{tempo},4,{genre}"


def spotify_csv(tmp_path, lines, header=HEADER):
    path = tmp_path / "dataset.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def row(i, **values):
    fields = {"i": i, "id": f"id{i}", "artists": f"Artist {i}", "title": f"Song {i}", "tempo": 120.0, "genre": "pop"}
    return GOOD.format(**{**fields, **values})


def import_spotify(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog", str(path), "--format", "spotify", "--catalog", "sp", *args, stdout=out, stderr=err, verbosity=0)
    return out.getvalue(), err.getvalue()


def test_a_track_listed_under_several_genres_becomes_one_track_with_all_of_them(tmp_path):
    path = spotify_csv(tmp_path, [row(0, genre="acoustic"), row(1), row(2, id="id0", genre="folk")])
    out, _ = import_spotify(path)
    assert "3 rows read: 2 tracks created" in out
    track = Track.objects.get(external_id="id0")
    assert track.genres == ["acoustic", "folk"] and track.style == "acoustic"


def test_several_artists_are_kept_as_a_list(tmp_path):
    import_spotify(spotify_csv(tmp_path, [row(0, artists="Ben Böhmer;Nils Hoffmann"), row(1)]))
    track = Track.objects.get(external_id="id0")
    assert track.artists == ["Ben Böhmer", "Nils Hoffmann"]
    assert track.artist == "Ben Böhmer, Nils Hoffmann"
    assert track.features["tempo"] == 120.0 and track.duration_s == 200.0 and track.explicit is False


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (row(9, id=""), "track_id is missing"),
        (row(9, tempo="fast"), "tempo is not a number: 'fast'"),
        (row(9, tempo="420"), "tempo=420 is outside 0..300"),
        (row(9).replace(",0.5,0.6,", ",1.5,0.6,"), "danceability=1.5 is outside 0..1"),
        (row(9).replace(",False,", ",maybe,"), "explicit is not true or false"),
        ("9,id9,too,few", "expected 21 fields, found 4"),
        (row(9, title=""), "track_name is missing"),
        (row(9, artists=" ; "), "artists is missing"),
        (row(9, tempo=""), "tempo is missing"),
        (row(9, tempo="nan"), "tempo=nan is outside 0..300"),
        (row(9).replace(",5,-7.5,", ",5.5,-7.5,"), "key=5.5 is not a whole number"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_skipped_and_the_rest_imported(tmp_path, bad, reason):
    path = spotify_csv(tmp_path, [row(0), bad, row(1)])
    out, err = import_spotify(path)
    assert f"line 3: {reason}" in err
    assert "2 tracks created" in out and "1 rows skipped" in out
    assert set(Track.objects.values_list("external_id", flat=True)) == {"id0", "id1"}


def test_all_problems_can_be_written_to_a_file(tmp_path):
    path = spotify_csv(tmp_path, [row(0), row(1, tempo="x"), row(2, id="")])
    import_spotify(path, "--problems", str(tmp_path / "problems.csv"))
    problems = list(csv.DictReader((tmp_path / "problems.csv").open()))
    assert [(p["line"], p["reason"]) for p in problems] == [("3", "tempo is not a number: 'x'"), ("4", "track_id is missing")]


def test_the_file_may_lack_the_leading_index_column(tmp_path):
    header = HEADER.removeprefix(",")
    path = spotify_csv(tmp_path, [row(0).split(",", 1)[1], row(1).split(",", 1)[1]], header=header)
    out, _ = import_spotify(path)
    assert "2 tracks created" in out


def test_reimporting_the_same_file_changes_nothing_and_a_changed_row_is_updated(tmp_path):
    path = spotify_csv(tmp_path, [row(0), row(1), row(2)])
    import_spotify(path)
    before = list(Track.objects.order_by("pk").values())
    out, _ = import_spotify(path)
    assert "0 tracks created, 0 updated, 3 unchanged" in out
    assert list(Track.objects.order_by("pk").values()) == before

    out, _ = import_spotify(spotify_csv(tmp_path, [row(0), row(1, title="Song 1 (new name)"), row(2)]))
    assert "0 tracks created, 1 updated, 2 unchanged" in out
    assert Track.objects.get(external_id="id1").title == "Song 1 (new name)"


def test_a_file_without_the_required_columns_is_refused(tmp_path):
    path = spotify_csv(tmp_path, ["1,2"], header="id,name")
    with pytest.raises(CommandError, match="lacks the column"):
        import_spotify(path)


def test_a_spotify_import_builds_a_standardised_index_of_the_catalog_features(tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "big.csv"
    synthetic.write_spotify_csv(synthetic.spotify_tracks(300, n_genres=6, seed=4), path)
    with django_capture_on_commit_callbacks(execute=True):
        import_spotify(path)
    catalog = Catalog.objects.get(slug="sp")
    index = services.catalog_latest_index(catalog, SimilarityIndex.FeatureSet.CATALOG)
    assert index.feature_names == csv_formats.SPOTIFY_SIMILARITY_FEATURES
    assert len(index.track_ids) == catalog.tracks.count()
    some = catalog.tracks.first()
    recommended = services.recommend(index=index, liked_track_ids=[some.pk], k=10)
    assert len(recommended) == 10 and some.pk not in {r.track_id for r in recommended}


def test_standardised_cosine_beats_the_unscaled_baseline_on_genre_precision(tmp_path):
    path = tmp_path / "big.csv"
    synthetic.write_spotify_csv(synthetic.spotify_tracks(3000, n_genres=20, seed=8), path)
    import_spotify(path)
    plot = tmp_path / "eval.png"
    out = io.StringIO()
    call_command("evaluate_recommenders", "sp", "--queries", "500", "--plot", str(plot), stdout=out)
    table = {line.split("  ")[0].strip(): line.split() for line in out.getvalue().splitlines() if "cosine" in line}
    standardised = float(table["standardised cosine, catalog features"][-4])
    unscaled = float(table["unscaled cosine, catalog features"][-4])
    assert standardised > unscaled + 0.05
    assert float(table["unscaled cosine, catalog features"][-2]) > 0.999  # every pair "similar"
    assert plot.read_bytes().startswith(b"\x89PNG")


GENERIC = "id,title,artist,genre,audio\n{rows}"


def test_a_generic_csv_with_an_audio_folder_attaches_and_analyses_the_clips(tmp_path, memoised_audio_work):
    import soundfile

    from recommender import demo

    folder = tmp_path / "clips"
    folder.mkdir()
    lines = []
    for index, style in demo.clip_plan(1)[:3]:
        clip = demo.synthesise_clip(index, style, seed=7, seconds=3)
        soundfile.write(folder / f"c{index}.ogg", clip.signal, demo.SR)
        lines.append(f"c{index},{clip.title},{clip.artist},{style},c{index}.ogg")
    lines.append("broken,Missing Clip,Nobody,Rock,nope.ogg")
    path = tmp_path / "catalog.csv"
    path.write_text(GENERIC.format(rows="\n".join(lines)))

    err = io.StringIO()
    call_command("import_catalog", str(path), "--format", "generic", "--catalog", "mine", "--audio-dir", str(folder), stdout=io.StringIO(), stderr=err, verbosity=0)
    catalog = Catalog.objects.get(slug="mine")
    assert catalog.tracks.filter(status=Track.Status.ANALYSED).count() == 3
    assert "audio file 'nope.ogg' not found" in err.getvalue()
    assert services.catalog_latest_index(catalog, SimilarityIndex.FeatureSet.AUDIO) is not None

    out = io.StringIO()
    call_command("import_catalog", str(path), "--format", "generic", "--catalog", "mine", "--audio-dir", str(folder), stdout=out, stderr=io.StringIO(), verbosity=0)
    assert "4 unchanged" in out.getvalue() and "audio files attached" not in out.getvalue()


def test_an_audio_name_cannot_reach_outside_the_audio_folder(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    (tmp_path / "secret.ogg").write_bytes(b"not for you")
    path = tmp_path / "catalog.csv"
    path.write_text(GENERIC.format(rows="x,Title,Artist,pop,../secret.ogg"))
    err = io.StringIO()
    call_command("import_catalog", str(path), "--format", "generic", "--audio-dir", str(folder), "--no-analysis", stdout=io.StringIO(), stderr=err, verbosity=0)
    assert "audio file '../secret.ogg' not found" in err.getvalue()
    assert not Track.objects.get(external_id="x").audio


def test_blank_lines_are_skipped_and_keep_later_lines_numbered_as_in_the_file(tmp_path):
    path = spotify_csv(tmp_path, [row(0), "", ",,,,", row(1, tempo="x")])
    out, err = import_spotify(path)
    assert "line 5: tempo is not a number: 'x'" in err and "1 tracks created" in out


def test_an_empty_file_imports_nothing_and_says_so(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match=r"Cannot import empty\.csv"):
        import_spotify(path)
    assert not Catalog.objects.filter(slug="sp").exists()

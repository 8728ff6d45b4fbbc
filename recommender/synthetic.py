"""Synthetic catalogs in real formats, for benchmarks and tests at full scale.

The Spotify tracks dataset cannot ship with Resonance, so this writes files with
its exact columns and realistic value ranges: genres with their own feature
profiles, tempo in BPM with a wide spread (as in the real data, where it swamps
an unscaled cosine), tracks listed under several genres, ``;``-separated artists,
accents and non-Latin names. Deezer-style metadata rows are derived from it with
the noise real services add ("Remastered 2011", "feat." credits, dropped accents).
Numbers in, DataFrames out; deterministic from a seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.csv_formats import SPOTIFY_SIMILARITY_FEATURES

_SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "to", "sa", "bel", "dor", "ni", "que", "lu", "an", "ter", "mo", "zi"]
_ACCENTED = ["José", "Zoë", "Björk", "Anaïs", "Sigur", "Mø", "Łukasz", "Øya", "Renée", "Dvořák", "Françoise"]
_NON_LATIN = ["坂本", "Кино", "ヨルシカ", "Ασπρο", "방탄", "Мумий"]
_WORDS = [
    "Love", "Night", "Fire", "Dream", "Heart", "River", "Light", "Summer", "Rain", "Gold", "Shadow", "Echo", "Road",
    "Ocean", "Stars", "Wild", "Blue", "Home", "Ghost", "Dance", "Silence", "Storm", "Paper", "Glass", "Morning",
    "Mañana", "Corazón", "Été", "Nuit", "Sehnsucht", "Straße",
]
_SUFFIXES = [" - Remastered 2011", " (Radio Edit)", " - Album Version", " (Live)", " - 2009 Remaster", " (Acoustic)"]


def _artist_names(rng: np.random.Generator, n: int) -> list[str]:
    names, seen = [], set()
    while len(names) < n:
        kind = rng.random()
        if kind < 0.08:
            name = f"{rng.choice(_NON_LATIN)} {rng.choice(_SYLLABLES).title()}{rng.integers(1, 99)}"
        elif kind < 0.25:
            name = f"{rng.choice(_ACCENTED)} {''.join(rng.choice(_SYLLABLES, 3)).title()}"
        else:
            name = " ".join("".join(rng.choice(_SYLLABLES, rng.integers(2, 4))).title() for _ in range(rng.integers(1, 3)))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def spotify_tracks(n_rows: int, *, n_genres: int = 125, seed: int = 0, extra_genre_share: float = 0.1) -> pd.DataFrame:
    """A DataFrame with the Spotify tracks dataset's columns; ``n_rows`` rows, some tracks under two genres."""
    rng = np.random.default_rng(seed)
    n_tracks = round(n_rows / (1 + extra_genre_share))
    genres = [f"genre-{i:03d}" for i in range(n_genres)]
    genre_of = rng.integers(0, n_genres, n_tracks)

    profile = rng.uniform(0.15, 0.85, size=(n_genres, 7))  # danceability .. valence, in dataset order
    loudness = rng.uniform(-18, -4, n_genres)
    tempo = rng.uniform(85, 150, n_genres)
    unit = np.clip(profile[genre_of] + rng.normal(0, 0.16, (n_tracks, 7)), 0, 1)
    features = pd.DataFrame(unit, columns=[f for f in SPOTIFY_SIMILARITY_FEATURES if f not in ("loudness", "tempo")])
    features["loudness"] = np.clip(loudness[genre_of] + rng.normal(0, 4, n_tracks), -49, 4)
    # Tempo varies far more within a genre than between genres, as it does in the real data.
    features["tempo"] = np.clip(tempo[genre_of] + rng.normal(0, 28, n_tracks), 40, 240)

    artists = _artist_names(rng, max(10, n_tracks // 4))
    main = rng.integers(0, len(artists), n_tracks)
    featured = rng.integers(0, len(artists), n_tracks)
    with_feature = rng.random(n_tracks) < 0.15
    artist_field = [
        f"{artists[a]};{artists[b]}" if f and a != b else artists[a] for a, b, f in zip(main, featured, with_feature)
    ]
    words = rng.choice(_WORDS, size=(n_tracks, 3))
    lengths = rng.integers(1, 4, n_tracks)
    titles = [" ".join(w[:k]) + f" {i}" if rng.random() < 0.5 else " ".join(w[:k]) for i, (w, k) in enumerate(zip(words, lengths))]

    frame = pd.DataFrame(
        {
            "track_id": [f"{seed:02d}{i:07d}sp{rng.integers(1000, 9999)}" for i in range(n_tracks)],
            "artists": artist_field,
            "album_name": [f"{w[0]} {w[-1]}" for w in words],
            "track_name": titles,
            "popularity": rng.integers(0, 101, n_tracks),
            "duration_ms": rng.integers(90_000, 420_000, n_tracks),
            "explicit": rng.random(n_tracks) < 0.1,
            "danceability": features["danceability"].round(3),
            "energy": features["energy"].round(3),
            "key": rng.integers(0, 12, n_tracks),
            "loudness": features["loudness"].round(3),
            "mode": rng.integers(0, 2, n_tracks),
            "speechiness": features["speechiness"].round(4),
            "acousticness": features["acousticness"].round(4),
            "instrumentalness": features["instrumentalness"].round(5),
            "liveness": features["liveness"].round(4),
            "valence": features["valence"].round(3),
            "tempo": features["tempo"].round(3),
            "time_signature": rng.choice([3, 4, 4, 4, 5], n_tracks),
            "track_genre": [genres[g] for g in genre_of],
        }
    )
    extra = frame.sample(n=n_rows - n_tracks, random_state=seed, replace=n_rows - n_tracks > n_tracks).copy()
    extra["track_genre"] = [genres[(genres.index(g) + 1 + int(rng.integers(0, 5))) % n_genres] for g in extra["track_genre"]]
    return pd.concat([frame, extra], ignore_index=True)


def write_spotify_csv(frame: pd.DataFrame, path) -> None:
    """Write as Kaggle does: a leading unnamed index column."""
    frame.to_csv(path, index=True)


def _strip_accents_roughly(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def deezer_metadata(tracks: pd.DataFrame, n_rows: int, *, seed: int = 1, match_share: float = 0.8) -> tuple[pd.DataFrame, dict]:
    """Deezer-style rows (item_id, track_name, artists, country): most describe a Spotify track, noisily.

    Returns the rows and the truth: item_id -> Spotify track_id, for the rows that have one.
    """
    rng = np.random.default_rng(seed)
    unique = tracks.drop_duplicates("track_id")
    picked = unique.sample(n=int(n_rows * match_share), random_state=seed)
    rows, truth = [], {}
    for i, (_, track) in enumerate(picked.iterrows()):
        artists = track["artists"].split(";")
        title = track["track_name"]
        roll = rng.random()
        if roll < 0.2:
            title += str(rng.choice(_SUFFIXES))
        elif roll < 0.3 and len(artists) > 1:
            title += f" (feat. {artists[1]})"
        if rng.random() < 0.3:
            title = title.upper() if rng.random() < 0.5 else title.lower()
        if rng.random() < 0.15:
            title = _strip_accents_roughly(title)
        if rng.random() < 0.05 and len(title) > 4:  # a typo: two neighbouring letters swapped
            k = int(rng.integers(0, len(title) - 1))
            title = title[:k] + title[k + 1] + title[k] + title[k + 2 :]
        artist = ", ".join(artists) if rng.random() < 0.5 else artists[0]
        if rng.random() < 0.1:
            artist = _strip_accents_roughly(artist)
        item_id = f"dz{seed}{i:07d}"
        truth[item_id] = track["track_id"]
        rows.append({"item_id": item_id, "track_name": title, "artists": artist, "country": rng.choice(["DE", "FR", "GB", "US", "BR", "JP"])})
    others = _artist_names(np.random.default_rng(seed + 1000), max(10, n_rows - len(rows)))
    for j in range(n_rows - len(rows)):
        words = rng.choice(_WORDS, 2)
        rows.append({
            "item_id": f"dz{seed}x{j:07d}", "track_name": f"{words[0]} {words[1]} Unreleased {j}",
            "artists": f"{others[j % len(others)]} Xq", "country": "US",
        })
    order = rng.permutation(len(rows))
    return pd.DataFrame([rows[k] for k in order]), truth

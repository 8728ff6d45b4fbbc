"""Media (clips, figures) is served with byte ranges, which audio seeking and Safari need."""


def write_media(settings, name="clip.mp3", content=bytes(range(256)) * 4):
    path = settings.MEDIA_ROOT / "catalog" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return f"/media/catalog/{name}", content


def test_a_whole_file_says_it_accepts_ranges(client, settings):
    url, content = write_media(settings)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == content
    assert response["Accept-Ranges"] == "bytes" and response["Content-Type"] == "audio/mpeg"


def test_a_byte_range_is_answered_with_just_those_bytes(client, settings):
    url, content = write_media(settings)
    response = client.get(url, HTTP_RANGE="bytes=100-199")
    assert response.status_code == 206
    assert response.content == content[100:200]
    assert response["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert client.get(url, HTTP_RANGE="bytes=-10").content == content[-10:]
    assert client.get(url, HTTP_RANGE="bytes=1000-").content == content[1000:]


def test_an_unsatisfiable_range_and_a_path_outside_media_are_refused(client, settings):
    url, content = write_media(settings)
    assert client.get(url, HTTP_RANGE="bytes=5000-6000").status_code == 416
    assert client.get("/media/../config/settings.py").status_code == 400
    assert client.get("/media/catalog/missing.mp3").status_code == 404

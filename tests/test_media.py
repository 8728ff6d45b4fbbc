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
    assert b"".join(response.streaming_content) == content[100:200]
    assert response["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert b"".join(client.get(url, HTTP_RANGE="bytes=-10").streaming_content) == content[-10:]
    assert b"".join(client.get(url, HTTP_RANGE="bytes=1000-").streaming_content) == content[1000:]


def test_an_unsatisfiable_range_and_a_path_outside_media_are_refused(client, settings):
    url, _content = write_media(settings)
    assert client.get(url, HTTP_RANGE="bytes=5000-6000").status_code == 416
    assert client.get("/media/../config/settings.py").status_code == 400
    assert client.get("/media/catalog/missing.mp3").status_code == 404


def test_a_range_is_streamed_in_chunks_never_read_whole(client, settings, monkeypatch):
    """A 'bytes=0-' request for a large clip must not hold the clip in memory: it is sent a chunk at a time."""
    from config import media

    url, content = write_media(settings, content=bytes(range(256)) * 4096)  # 1 MiB
    reads = []
    real_open = open

    class Spy:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def seek(self, n):
            self.handle.seek(n)

        def read(self, n=-1):
            reads.append(n)
            return self.handle.read(n)

    monkeypatch.setattr(media, "open", lambda path, mode="rb": Spy(real_open(path, mode)), raising=False)
    response = client.get(url, HTTP_RANGE="bytes=0-")
    assert b"".join(response.streaming_content) == content
    assert reads and max(reads) <= media.CHUNK


def test_a_range_with_absurd_numbers_is_ignored_not_a_server_error(client, settings):
    url, content = write_media(settings)
    response = client.get(url, HTTP_RANGE="bytes=" + "9" * 5000 + "-")
    assert response.status_code == 200 and b"".join(response.streaming_content) == content


def test_media_never_serves_html_and_always_names_the_file(client, settings):
    url, _ = write_media(settings, name="page.html", content=b"<script>alert(document.cookie)</script>")
    response = client.get(url)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["X-Content-Type-Options"] == "nosniff"
    clip_url, _ = write_media(settings)
    assert client.get(clip_url)["Content-Disposition"] == 'inline; filename="clip.mp3"'

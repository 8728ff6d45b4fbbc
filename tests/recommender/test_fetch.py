"""Fetching preview clips from a real HTTP server on 127.0.0.1 (allowed here as a lab's mirror would be), and
never from an internal address the deployment did not name, redirects included."""
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recommender import fetch, services
from recommender.models import Track
from tests.factories import CatalogFactory, TrackFactory, tone_bytes


class ClipServer(BaseHTTPRequestHandler):
    """Paths name behaviours: /ok.wav, /page.html, /huge.wav, /liar.wav, /flaky.wav (500 twice), /slow.wav, /gone."""

    calls: dict[str, int] = {}

    def log_message(self, *args):
        pass

    def send(self, status, body=b"", content_type="audio/wav", length=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.calls[self.path] = self.calls.get(self.path, 0) + 1
        if self.path == "/ok.wav":
            self.send(200, tone_bytes())
        elif self.path == "/page.html":
            self.send(200, b"<html>Sign in</html>", content_type="text/html")
        elif self.path == "/huge.wav":
            self.send(200, b"", length=500 * 1024 * 1024)
        elif self.path == "/liar.wav":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.end_headers()  # no length, then far too much
            self.wfile.write(b"\0" * 3 * 1024 * 1024)
        elif self.path == "/flaky.wav":
            if self.calls[self.path] <= 2:
                self.send(500, b"busy", content_type="text/plain")
            else:
                self.send(200, tone_bytes())
        elif self.path == "/to-localhost":  # a redirect into the server's own loopback, by another name
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{self.server.server_port}/ok.wav")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow.wav":
            time.sleep(1)
            self.send(200, tone_bytes())
        else:
            self.send(404, b"not found", content_type="text/plain")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that gave up (the fetcher's timeout on /slow.wav) is what the test wants, not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def server():
    ClipServer.calls = {}
    httpd = QuietServer(("127.0.0.1", 0), ClipServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


LOCAL = frozenset({"127.0.0.1"})


@pytest.fixture(autouse=True)
def the_test_server_is_a_named_mirror(settings):
    settings.CLIP_FETCH_ALLOWED_HOSTS = LOCAL


def download(url, tmp_path, timeout=5, max_bytes=2 * 1024 * 1024, allowed_hosts=LOCAL):
    return fetch.download_clip(url, tmp_path, timeout=timeout, max_bytes=max_bytes, allowed_hosts=allowed_hosts)


def test_an_audio_url_is_downloaded(server, tmp_path):
    result = download(f"{server}/ok.wav", tmp_path)
    assert result.content_type == "audio/wav" and result.path.suffix == ".wav"
    assert result.path.read_bytes() == tone_bytes()


@pytest.mark.parametrize(
    ("path", "error", "reason"),
    [
        ("/page.html", fetch.FetchError, "sent text/html, not audio"),
        ("/huge.wav", fetch.FetchError, "at most 2.1 MB is accepted"),
        ("/liar.wav", fetch.FetchError, "larger than 2.1 MB"),
        ("/gone", fetch.FetchError, "answered 404"),
        ("/flaky.wav", fetch.TransientFetchError, "answered 500"),
        ("/slow.wav", fetch.TransientFetchError, "no answer within 0.5 s"),
    ],
)
def test_bad_urls_fail_with_a_reason_sorted_into_retry_or_not(server, tmp_path, path, error, reason):
    with pytest.raises(error, match=reason) as raised:
        download(f"{server}{path}", tmp_path, timeout=0.5)
    assert (type(raised.value) is fetch.TransientFetchError) == (error is fetch.TransientFetchError)


def test_an_unreachable_server_is_worth_retrying(tmp_path):
    with pytest.raises(fetch.TransientFetchError, match="cannot reach"):
        download("http://127.0.0.1:1/clip.mp3", tmp_path)


@pytest.mark.django_db(transaction=True)  # the fetch jobs are sent once the catalog is committed
def test_fetching_a_catalog_retries_flaky_servers_and_marks_hopeless_urls(server, settings):
    settings.CLIP_FETCH_TIMEOUT = 0.5
    catalog = CatalogFactory()
    ok = TrackFactory(catalog=catalog, preview_url=f"{server}/ok.wav")
    flaky = TrackFactory(catalog=catalog, preview_url=f"{server}/flaky.wav")
    html = TrackFactory(catalog=catalog, preview_url=f"{server}/page.html")
    slow = TrackFactory(catalog=catalog, preview_url=f"{server}/slow.wav")
    untouched = TrackFactory(catalog=catalog)

    assert services.catalog_fetch_clips(catalog=catalog) == 4

    for track in (ok, flaky, html, slow, untouched):
        track.refresh_from_db()
    assert ok.status == flaky.status == Track.Status.ANALYSED
    assert ClipServer.calls["/flaky.wav"] == 3
    assert html.status == Track.Status.FAILED and "text/html, not audio" in html.error
    assert slow.status == Track.Status.FAILED and "after retries" in slow.error
    assert ClipServer.calls["/slow.wav"] == 4  # the first try and three retries
    assert untouched.status == Track.Status.PENDING

    calls = dict(ClipServer.calls)
    assert services.catalog_fetch_clips(catalog=catalog) == 2  # only the failed ones have no clip
    assert ClipServer.calls["/ok.wav"] == calls["/ok.wav"]  # a fetched clip is never fetched again


@pytest.mark.django_db(transaction=True)
def test_the_fetch_clips_command_downloads_a_catalog_s_missing_clips_and_counts_the_outcome(server):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    catalog = CatalogFactory(slug="previews")
    TrackFactory(catalog=catalog, preview_url=f"{server}/ok.wav")
    TrackFactory(catalog=catalog, preview_url=f"{server}/gone")
    out = io.StringIO()
    call_command("fetch_clips", "previews", stdout=out)
    assert out.getvalue().strip() == "Catalog 'previews': 2 clips sent for download; now 1 analysed, 1 failed."
    with pytest.raises(CommandError, match="No catalog with slug 'nowhere'"):
        call_command("fetch_clips", "nowhere")


@pytest.mark.parametrize(("url", "kind"), [
    ("http://127.0.0.1:{port}/ok.wav", "loopback"),
    ("http://localhost:{port}/ok.wav", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # a cloud's metadata service
    ("http://10.0.0.7/clip.mp3", "private"),
    ("http://[::1]:{port}/ok.wav", "loopback"),
    ("http://224.0.0.1/clip.mp3", "multicast"),
    ("http://0.0.0.0:{port}/ok.wav", "unspecified"),
])
def test_an_internal_address_is_refused_before_anything_is_sent(server, tmp_path, url, kind):
    port = server.rsplit(":", 1)[1]
    start = time.perf_counter()
    with pytest.raises(fetch.BlockedAddress, match=f"an? {kind} address: clips are fetched from public servers only"):
        download(url.format(port=port), tmp_path, allowed_hosts=frozenset())
    assert ClipServer.calls == {}  # refused at connect time: the server never saw a request
    assert time.perf_counter() - start < 5  # and without waiting for a timeout


def test_a_redirect_into_an_internal_address_is_refused_too(server, tmp_path):
    with pytest.raises(fetch.BlockedAddress, match=r"localhost resolves to .*loopback"):
        download(f"{server}/to-localhost", tmp_path)
    assert ClipServer.calls == {"/to-localhost": 1}


@pytest.mark.django_db(transaction=True)
def test_a_track_pointing_inside_the_network_fails_with_the_reason_and_nothing_fetched(settings):
    settings.CLIP_FETCH_ALLOWED_HOSTS = frozenset()
    track = TrackFactory(catalog=CatalogFactory(), preview_url="http://169.254.169.254/latest/meta-data/iam")
    services.track_fetch_clip(track=track)
    track.refresh_from_db()
    assert track.status == Track.Status.FAILED and not track.audio
    assert "169.254.169.254, a link-local address" in track.error and "CLIP_FETCH_ALLOWED_HOSTS" in track.error

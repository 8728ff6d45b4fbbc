"""Downloading 30-second preview clips from URLs (as Deezer's API gives them), defensively.

A URL is somebody else's server: every download has a timeout, a size cap and a
content-type check, and failures are sorted into those worth retrying (timeouts,
5xx, dropped connections) and those that are not (404, an HTML page, a file too
big). No Django here.
"""
from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from config.numbers import ascii_int

AUDIO_TYPES = {
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/ogg": ".ogg", "application/ogg": ".ogg",
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/flac": ".flac", "audio/x-flac": ".flac",
    "audio/mp4": ".m4a", "audio/aac": ".aac", "audio/opus": ".opus",
}
USER_AGENT = "Resonance/1.0 (research study platform; clip fetcher)"


class FetchError(Exception):
    """The clip cannot be had from this URL; trying again will not help."""


class TransientFetchError(FetchError):
    """The server or network failed this time; a later try may succeed."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    content_type: str
    size: int


def _http_only_opener() -> urllib.request.OpenerDirector:
    """urllib without its file: and ftp: handlers: a preview URL, or a redirect from one, reaches http(s) only."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.HTTPHandler, urllib.request.HTTPSHandler, urllib.request.HTTPRedirectHandler,
                    urllib.request.HTTPDefaultErrorHandler, urllib.request.HTTPErrorProcessor):
        opener.add_handler(handler())
    return opener


def download_clip(url: str, into: Path, *, timeout: float, max_bytes: int) -> Downloaded:
    """Fetch ``url`` into a new file in ``into``; raise FetchError or TransientFetchError with a reason."""
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"not an http(s) URL: {url[:80]!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "audio/*"})
    try:
        with _http_only_opener().open(request, timeout=timeout) as response:
            content_type = response.headers.get_content_type()
            if content_type not in AUDIO_TYPES:
                raise FetchError(f"the server sent {content_type}, not audio")
            declared = ascii_int(response.headers.get("Content-Length"))
            if declared is not None and declared > max_bytes:
                raise FetchError(f"the clip is {declared / 1e6:.1f} MB; at most {max_bytes / 1e6:.1f} MB is accepted")
            path = into / f"clip{AUDIO_TYPES[content_type]}"
            size = 0
            with open(path, "wb") as target:
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    if size > max_bytes:  # a server may lie about, or omit, the length
                        raise FetchError(f"the clip is larger than {max_bytes / 1e6:.1f} MB")
                    target.write(chunk)
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code in (408, 425, 429):
            raise TransientFetchError(f"the server answered {error.code} {error.reason}") from None
        raise FetchError(f"the server answered {error.code} {error.reason}") from None
    except TimeoutError as error:
        raise TransientFetchError(f"no answer within {timeout:g} s") from error
    except urllib.error.URLError as error:
        if isinstance(error.reason, (TimeoutError, socket.timeout)):
            raise TransientFetchError(f"no answer within {timeout:g} s") from error
        raise TransientFetchError(f"cannot reach the server: {error.reason}") from error
    except (ConnectionError, http.client.HTTPException) as error:
        raise TransientFetchError(f"the connection broke: {error.__class__.__name__}") from error
    if size == 0:
        raise FetchError("the server sent an empty file")
    return Downloaded(path=path, content_type=content_type, size=size)


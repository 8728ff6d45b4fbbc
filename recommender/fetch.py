"""Downloading 30-second preview clips from URLs (as Deezer's API gives them), defensively.

A URL is somebody else's server: every download has a timeout, a size cap and a
content-type check, and failures are sorted into those worth retrying (timeouts,
5xx, dropped connections) and those that are not (404, an HTML page, a file too
big). No Django here.

A catalog's URLs are data anyone could have written, so the fetcher never becomes a way into the
server's own network: every connection, the first and each one a redirect leads to, goes to an address
resolved and checked at connect time (public unicast only: no loopback, private, link-local, multicast or
reserved address), unless the host is one the deployment names (a lab's own mirror). The refusal says
which host resolved where, and nothing was sent to it.
"""
from __future__ import annotations

import http.client
import ipaddress
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


class BlockedAddress(FetchError):
    """The URL's host resolves to an address clips are never fetched from."""


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is out of bounds, or None for a public unicast one."""
    # The most telling name first: link-local and 0.0.0.0 count as private too.
    for name, flag in (("loopback", address.is_loopback), ("link-local", address.is_link_local),
                       ("multicast", address.is_multicast), ("unspecified", address.is_unspecified),
                       ("reserved", address.is_reserved), ("private", address.is_private)):
        if flag:
            return name
    return None if address.is_global else "non-public"


def _guarded_create_connection(allowed_hosts: frozenset[str]):
    """socket.create_connection for http.client that connects only to checked addresses of the host."""

    def create_connection(address, timeout=None, source_address=None, **kwargs):
        host, port = address
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)  # gaierror: urllib says it cannot reach it
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
        if host.lower().rstrip(".") not in allowed_hosts:
            for ip in addresses:
                kind = _kind(ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip)
                if kind:
                    article = "an" if kind[0] in "aeiou" else "a"
                    raise BlockedAddress(
                        f"{host} resolves to {ip}, {article} {kind} address: clips are fetched from public servers only "
                        "(a lab's own mirror can be allowed with CLIP_FETCH_ALLOWED_HOSTS)"
                    )
        # Connect to the address just checked, never to a second lookup's answer.
        return socket.create_connection((str(addresses[0]), port), timeout, source_address, **kwargs)

    return create_connection


def _guarded(connection_class, allowed_hosts: frozenset[str]):
    class Guarded(connection_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = _guarded_create_connection(allowed_hosts)

    return Guarded


def _http_only_opener(allowed_hosts: frozenset[str] = frozenset()) -> urllib.request.OpenerDirector:
    """urllib without its file: and ftp: handlers or any proxy: a preview URL, or a redirect from one, reaches
    http(s) only, each connection to a checked address."""

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_guarded(http.client.HTTPConnection, allowed_hosts), req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(_guarded(http.client.HTTPSConnection, allowed_hosts), req, context=self._context)

    opener = urllib.request.OpenerDirector()
    for handler in (HTTPHandler, HTTPSHandler, urllib.request.HTTPRedirectHandler,
                    urllib.request.HTTPDefaultErrorHandler, urllib.request.HTTPErrorProcessor):
        opener.add_handler(handler())
    return opener


def download_clip(
    url: str, into: Path, *, timeout: float, max_bytes: int, allowed_hosts: frozenset[str] | set[str] = frozenset()
) -> Downloaded:
    """Fetch ``url`` into a new file in ``into``; raise FetchError or TransientFetchError with a reason.
    ``allowed_hosts``: host names that may resolve to internal addresses (a lab's mirror)."""
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"not an http(s) URL: {url[:80]!r}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "audio/*"})
    allowed = frozenset(h.lower().rstrip(".") for h in allowed_hosts)
    try:
        with _http_only_opener(allowed).open(request, timeout=timeout) as response:
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
    except BlockedAddress:
        raise
    except urllib.error.URLError as error:
        if isinstance(error.reason, BlockedAddress):
            raise error.reason from None
        if isinstance(error.reason, (TimeoutError, socket.timeout)):
            raise TransientFetchError(f"no answer within {timeout:g} s") from error
        raise TransientFetchError(f"cannot reach the server: {error.reason}") from error
    except (ConnectionError, http.client.HTTPException) as error:
        raise TransientFetchError(f"the connection broke: {error.__class__.__name__}") from error
    if size == 0:
        raise FetchError("the server sent an empty file")
    return Downloaded(path=path, content_type=content_type, size=size)


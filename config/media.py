"""Serving media files with HTTP Range support, streamed, and never as a page.

Browsers seek in audio by asking for byte ranges, and Safari plays no audio at all
from a server that ignores them; django.views.static.serve sends whole files only.
A range is streamed in chunks (never read whole into memory), its numbers are bounded,
and only audio and images are shown inline: anything else is a download of bytes
(application/octet-stream), so no file in media can ever run as a page of this site.
"""
import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils._os import safe_join
from django.views.decorators.http import require_safe

# 18 digits is far past any file size and below 2**63: a 5,000-digit number is no range.
_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")
CHUNK = 64 * 1024
#: The only types media is shown as; every other file is sent as bytes to save.
INLINE_TYPES = {"audio/mpeg", "audio/ogg", "audio/wav", "audio/x-wav", "audio/flac", "audio/x-flac", "audio/mp4",
                "audio/aac", "audio/opus", "image/png", "image/jpeg"}


def _chunks(path: Path, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        while length > 0:
            block = handle.read(min(CHUNK, length))
            if not block:
                return
            length -= len(block)
            yield block


@require_safe
def serve_media(request, path: str):
    # safe_join refuses a path that climbs out of MEDIA_ROOT (Django answers 400 and logs it).
    full = Path(safe_join(settings.MEDIA_ROOT, path))
    if not full.is_file():
        raise Http404("No such file.")
    size = full.stat().st_size
    guessed = mimetypes.guess_type(full.name)[0] or ""
    inline = guessed in INLINE_TYPES
    content_type = guessed if inline else "application/octet-stream"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or (not match[1] and not match[2]):
        response = FileResponse(open(full, "rb"), content_type=content_type)  # noqa: SIM115 (FileResponse closes it)
    else:
        if match[1]:
            start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
        else:  # "bytes=-N": the last N bytes
            start, end = max(0, size - int(match[2])), size - 1
        if start > end or start >= size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = StreamingHttpResponse(_chunks(full, start, end - start + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{full.name}"'
    response["X-Content-Type-Options"] = "nosniff"
    # Media files are named by content hash or never change once written.
    response["Cache-Control"] = "public, max-age=86400"
    return response

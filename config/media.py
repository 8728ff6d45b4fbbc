"""Serving media files with HTTP Range support.

Browsers seek in audio by asking for byte ranges, and Safari plays no audio at all
from a server that ignores them; django.views.static.serve sends whole files only.
"""
import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils._os import safe_join
from django.views.decorators.http import require_safe

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@require_safe
def serve_media(request, path: str):
    # safe_join refuses a path that climbs out of MEDIA_ROOT (Django answers 400 and logs it).
    full = Path(safe_join(settings.MEDIA_ROOT, path))
    if not full.is_file():
        raise Http404("No such file.")
    size = full.stat().st_size
    content_type = mimetypes.guess_type(full.name)[0] or "application/octet-stream"
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if not match or (not match[1] and not match[2]):
        response = FileResponse(open(full, "rb"), content_type=content_type)
    else:
        if match[1]:
            start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
        else:  # "bytes=-N": the last N bytes
            start, end = max(0, size - int(match[2])), size - 1
        if start > end or start >= size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        with open(full, "rb") as handle:
            handle.seek(start)
            response = HttpResponse(handle.read(end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    # Media files are named by content hash or never change once written.
    response["Cache-Control"] = "public, max-age=86400"
    return response

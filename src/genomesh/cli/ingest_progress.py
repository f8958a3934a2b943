"""What `genomesh node ingest` shows while it works: a real percentage, and htslib's own
messages turned into genomesh warnings.

* Progress: with a .tbi/.csi index the ingest knows the record total. Without one, the bar
  follows the file itself: how far htslib has read into the VCF (the file offset of the
  descriptor it holds, from /proc/self/fdinfo) over the file's size. For a bgzipped file both
  are compressed bytes, so the fraction is honest. Where /proc is not available the bar
  shows the record count only.
* htslib (the C library under cyvcf2) writes `[W::vcf_parse] ...` and `[E::...] ...` lines
  straight to file descriptor 2, interleaving with the bar and leading genomesh's own error
  line. `captured_c_stderr` points descriptor 2 at a temporary file for the ingest, and
  `htslib_warnings` turns what was written into genomesh's words (deduplicated, capped).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

_HTSLIB_LINE = re.compile(r"^\[([WEI])::([A-Za-z0-9_]+)\]\s*(.*)$")


class FileFraction:
    """How far this process has read into `path` (0..1), or None if it cannot tell."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).resolve()
        try:
            self.size = self.path.stat().st_size
        except OSError:
            self.size = 0
        self._fd: int | None = None

    def _find_fd(self) -> int | None:
        fds = Path("/proc/self/fd")
        try:
            entries = list(fds.iterdir())
        except OSError:
            return None
        found = None
        for entry in entries:
            try:
                if Path(os.readlink(entry)) == self.path:
                    found = int(entry.name)  # the newest descriptor on the file wins
            except (OSError, ValueError):
                continue
        return found

    def __call__(self) -> float | None:
        if not self.size:
            return None
        if self._fd is None:
            self._fd = self._find_fd()
            if self._fd is None:
                return None
        try:
            text = Path(f"/proc/self/fdinfo/{self._fd}").read_text()
        except OSError:
            self._fd = None
            return None
        match = re.search(r"^pos:\s*(\d+)", text, re.MULTILINE)
        if not match:
            return None
        return min(1.0, int(match.group(1)) / self.size)


@contextlib.contextmanager
def captured_c_stderr(lines: list[str] | None = None) -> Iterator[list[str]]:
    """Point file descriptor 2 at a temporary file; the lines written land in `lines` (or
    the list yielded), filled when the block ends - also when it raises."""
    lines = [] if lines is None else lines
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 at all: nothing to capture
        yield lines
        return
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read().decode("utf-8", "replace").splitlines())


def htslib_warnings(lines: list[str], *, limit: int = 5) -> list[str]:
    """genomesh's words for htslib's messages (`the VCF reader (htslib vcf_parse) said:
    ...`), each
    distinct message once, at most `limit` of them plus a count of the rest."""
    said: Counter[str] = Counter()
    order: list[str] = []
    for line in lines:
        match = _HTSLIB_LINE.match(line.strip())
        if match:
            _level, where, text = match.groups()
            message = f"the VCF reader (htslib {where}) said: {text}"
        elif line.strip():
            message = f"VCF reader: {line.strip()}"
        else:
            continue
        if message not in said:
            order.append(message)
        said[message] += 1
    out = [m + (f" (x{said[m]})" if said[m] > 1 else "") for m in order[:limit]]
    if len(order) > limit:
        out.append(f"... and {len(order) - limit} more distinct message(s) from the VCF reader")
    return out


__all__ = ["FileFraction", "captured_c_stderr", "htslib_warnings"]

"""Running R where the field uses R: a script Resonance writes, run by ``Rscript`` on CSV files, its tables read back.

No rpy2 and no Django: the data go to a temporary folder as CSV, the script reads them from the folder named as
its one argument and writes its tables there as CSV. Where R (or a package the script needs) is missing, the
caller is told why, in words, and can carry on without it.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import pandas as pd

#: What the report tells a researcher whose machine lacks R.
INSTALL_HINT = "install it with: apt-get install r-base-core r-cran-lme4 (Debian/Ubuntu), as the Dockerfile does"


class RError(RuntimeError):
    """R could not run the script; the message ends with what R printed."""


@lru_cache(maxsize=8)
def missing(packages: tuple[str, ...] = ("lme4",)) -> str:
    """Why R cannot run a script needing ``packages`` here ("" when it can)."""
    if shutil.which("Rscript") is None:
        return f"Rscript is not installed; {INSTALL_HINT}"
    check = "; ".join(f'if (!requireNamespace("{name}", quietly=TRUE)) cat("{name} ")' for name in packages)
    try:
        result = subprocess.run(["Rscript", "--vanilla", "-e", check], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"Rscript could not start ({error})"
    absent = result.stdout.split()
    return f"the R package(s) {', '.join(absent)} are not installed; {INSTALL_HINT}" if absent else ""


def run(script: str, inputs: dict[str, pd.DataFrame], *, texts: dict[str, str] | None = None,
        timeout_s: float = 600) -> dict[str, pd.DataFrame]:
    """Write ``inputs`` as ``NAME.csv`` (and ``texts`` as files) into a fresh folder, run ``script`` with that
    folder as its argument, and return every ``*.csv`` it wrote that was not an input, by name."""
    with tempfile.TemporaryDirectory(prefix="resonance-r-") as folder:
        path = Path(folder)
        for name, frame in inputs.items():
            frame.to_csv(path / f"{name}.csv", index=False)
        for name, text in (texts or {}).items():
            (path / name).write_text(text, encoding="utf-8")
        (path / "script.R").write_text(script, encoding="utf-8")
        try:
            result = subprocess.run(["Rscript", "--vanilla", str(path / "script.R"), folder],
                                    capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as error:
            raise RError(f"R did not finish within {timeout_s:.0f} s") from error
        if result.returncode != 0:
            raise RError(f"R stopped with exit status {result.returncode}: {result.stderr.strip()[-1500:]}")
        return {
            csv.stem: pd.read_csv(csv) for csv in sorted(path.glob("*.csv")) if csv.stem not in inputs
        }

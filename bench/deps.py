"""``python -m bench.deps FILE``: exit 0 when every requirement in FILE is installed, 1 otherwise.

Lets scripts/bench.sh skip pip (and any registry access) when the bench's requirements are
already there. Only plain ``name<specifiers`` lines are understood, which is all the file holds.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata


def missing(path: str) -> list[str]:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip always carries a copy
        from pip._vendor.packaging.requirements import Requirement
    out = []
    for line in open(path):
        line = re.sub(r"#.*", "", line).strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(f"{req} (not installed)")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(f"{req} (found {version})")
    return out


if __name__ == "__main__":
    gaps = missing(sys.argv[1] if len(sys.argv) > 1 else "requirements-bench.txt")
    for g in gaps:
        print(f"bench: needs {g}", file=sys.stderr)
    sys.exit(1 if gaps else 0)

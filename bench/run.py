"""`make bench`: run the benchmarks and write bench/BENCHMARKS.md (see that file)."""

from __future__ import annotations

import sys


def main() -> int:
    print("No benchmark is defined yet; see bench/BENCHMARKS.md.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

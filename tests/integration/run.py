#!/usr/bin/env python3
"""Integration test runner: the real bridge binary against real files and servers.

Runs every tests/integration/test_*.py and the test server's self-test
(tests/sim/test_*.py). The binary is $BRIDGE_BIN (make integration sets it).

    BRIDGE_BIN=build/bridge python3 tests/integration/run.py [-k PATTERN]
"""

import argparse
import os
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main():
    """Discover and run the suites; exit 1 if anything failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="patterns", action="append", default=None,
                        help="only tests whose name contains this (repeatable)")
    args = parser.parse_args()

    binary = os.environ.get("BRIDGE_BIN", str(ROOT / "build" / "bridge"))
    if not os.access(binary, os.X_OK):
        sys.exit(f"run.py: {binary} is not an executable; run 'make' first")
    os.environ["BRIDGE_BIN"] = str(Path(binary).resolve())
    sys.path.insert(0, str(ROOT / "tests" / "integration"))

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [f"*{p}*" for p in args.patterns]
    suite = unittest.TestSuite()
    for folder in ("tests/integration", "tests/sim"):
        suite.addTests(loader.discover(str(ROOT / folder), pattern="test_*.py",
                                       top_level_dir=str(ROOT / folder)))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if result.skipped:
        print(f"run.py: {len(result.skipped)} test(s) skipped; skips are not allowed",
              file=sys.stderr)
        return 1
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

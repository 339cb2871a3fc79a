#!/usr/bin/env python3
"""Print one 'N passed, N failed, N skipped' line from meson test logs."""
import json
import sys

passed = failed = skipped = 0
for log in sys.argv[1:]:
    try:
        f = open(log)
    except OSError as e:
        # A build that failed before its tests ran leaves no log.
        print(f"summary: {log}: {e.strerror}: the build or test step failed")
        failed += 1
        continue
    with f:
        for line in f:
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not passed else 0)

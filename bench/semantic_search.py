"""How long search by meaning takes to score N stored vectors (Python fallback).

Usage: .venv/bin/python bench/semantic_search.py [N] [DIMENSIONS]
Prints figures; asserts nothing.
"""

import math
import random
import sys
import time
from array import array


def main(count: int, dimensions: int) -> None:
    rng = random.Random(11)
    rows = []
    for _ in range(count):
        vector = [rng.uniform(-1, 1) for _ in range(dimensions)]
        norm = math.sqrt(sum(v * v for v in vector))
        rows.append(array("f", [v / norm for v in vector]).tobytes())
    query = [rng.uniform(-1, 1) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in query))
    unit = [v / norm for v in query]
    start = time.perf_counter()
    for data in rows:
        values = array("f")
        values.frombytes(data)
        math.sumprod(unit, values)
    took = time.perf_counter() - start
    print(
        f"{count} vectors x {dimensions} dims: {took * 1000:.0f} ms "
        f"({took / count * 1e6:.1f} us per message)"
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*(args + [2000, 1024][len(args) :]))

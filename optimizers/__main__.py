"""``python -m optimizers --warm``: compile every kernel into the disk cache (image build, ``make``)."""

import sys
import time

from optimizers.compiled import cache_dir, warm

if __name__ == "__main__":
    if "--warm" not in sys.argv[1:]:
        sys.exit("usage: python -m optimizers --warm")
    start = time.perf_counter()
    warm()
    print(f"optimizers: kernels compiled or loaded in {time.perf_counter() - start:.1f} s ({cache_dir()})")

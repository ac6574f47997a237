"""Settings for the memory allocator inside Polars, applied before Polars loads.

Polars brings its own jemalloc and configures it on import to give freed pages
back to the OS within half a second (``dirty_decay_ms:500,muzzy_decay_ms:1000``);
blocks above 8 MiB live in a separate arena that gives them back at once. A
close of business frees and allocates the same large buffers once per book
partition (decoded Parquet columns, join hash tables), so each partition faulted
its memory in again and the kernel zeroed every page: about a third of the
1M-loan close's CPU time was system time. These settings keep freed pages for
ten seconds (then they go back, so a long-lived process still shrinks) and drop
the separate arena (docs/benchmarks.md has the measurements). Polars appends a
value of ``_RJEM_MALLOC_CONF`` found in the environment to its own, and the
later options win.

jemalloc reads its options once, when Polars first allocates, so
:func:`tune_polars_allocator` runs at the start of the command line, before any
command imports Polars. A value already in the environment wins.
"""

from __future__ import annotations

import os
import sys

#: The environment variable Polars' jemalloc (built with the ``_rjem_`` prefix) reads.
ENV = "_RJEM_MALLOC_CONF"
SETTINGS = "dirty_decay_ms:10000,muzzy_decay_ms:10000,oversize_threshold:0"


def tune_polars_allocator() -> bool:
    """Put :data:`SETTINGS` in the environment unless set; False when Polars is
    already loaded (too late to take effect)."""
    if "polars" in sys.modules:
        return False
    os.environ.setdefault(ENV, SETTINGS)
    return True

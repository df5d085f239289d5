"""One memory budget, made from ``--max-memory``, that hands each part of a job its share.

Every buffer sized by the budget asks here, so one table says who gets what (of the
default 1 GiB):

| part | share | default |
| --- | --- | --- |
| text per chunk read (hashing a chunk takes ~25x its size), at most 6 MB | 1/128 | 6 MB |
| the counts' table (pass 1), in entries of ``ENTRY_BYTES`` | 1/8 | 128 MB |
| a cluster worker's table for one partition | 1/4 | 256 MB |
| the rows between passes, in memory before they go to disk (the spool) | 1/4 | 256 MB |
| a part a cluster worker reads itself, at least 1 MB | 1/128 | 8 MB |
| ``train --test``: read ahead beside training files of at most this much text | 1/16 | 64 MB |
| ``train --test``: the child process that reads the test file ahead | 1/8 | 128 MB |

Scoring (``predict --file``, ``evaluate``) reads with :meth:`Budget.scoring`: small
chunks, memory flat and close to pandas' own.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..features.counting import ENTRY_BYTES

#: memory for the cache, the counts and a chunk in flight, unless told otherwise
DEFAULT_MAX_MEMORY = 1 << 30
#: text per chunk, as a share of the budget: hashing a chunk takes ~25x its size
CHUNK_SHARE = 128
#: and at most this many bytes: the chunks in flight (hashing, waiting, kept) are most of
#: pass 1's memory. A million reviews at the default budget (8 MB chunks) peaked at
#: 1,183-1,218 MB against 1,084-1,144 MB with 6.1 MB chunks, 57.2-59.3 s against
#: 56.5-57.7 s (alternated pairs), same accuracy; IMDB 4.42 s against 4.35 s (medians of
#: 7). Under --max-memory 80M smaller chunks cost 5% more time for 30-50 MB: not there.
MAX_CHUNK_BYTES = 6_000_000
#: the counts' table holds total / (COUNTER_SHARE x ENTRY_BYTES) entries: the table, what
#: waits to be merged (half a table), a merge's copy of both and its prune's, beside the
#: chunks hashing: ~8 entries each
COUNTER_SHARE = 8
#: a cluster worker counts one partition at a time: a table of a quarter of the budget
PARTITION_COUNTER_SHARE = 4
#: the rows between the two passes, in memory up to this share, then on disk
SPOOL_SHARE = 4
#: the test file is read ahead while training when the training text is at most this share
#: of the budget: then the test pass is a large part of the run (IMDB: 2 s of 10) and
#: the child's ~300 MB are to spare; past it, the test pass is a small part and the
#: memory goes to the training rows (100k reviews: 25 s, 1,331 MB with it, 1,086 without)
TEXT_SHARE = 16
#: the child process that reads the test file ahead
AHEAD_SHARE = 8
#: scoring reads chunks this many times smaller than training's
SCORING_SHARE = 8


@dataclass(frozen=True)
class Budget:
    """The bytes a job may hold (``--max-memory``) and each part's share of them."""

    total: int = DEFAULT_MAX_MEMORY

    @classmethod
    def scoring(cls) -> Budget:
        """What scoring a file reads with: small chunks, memory flat."""
        return cls(DEFAULT_MAX_MEMORY // SCORING_SHARE)

    def chunk_rows(self, row_bytes: float) -> int:
        """Rows per chunk for rows of about ``row_bytes`` bytes: a chunk of text is
        ``total / CHUNK_SHARE``, at most :data:`MAX_CHUNK_BYTES` (6 MB of the default),
        at least 100 rows. (A floor of 1 MB under a small budget doubled the page faults
        at 80M and 1M reviews: measured and dropped.)"""
        return max(100, int(min(self.total / CHUNK_SHARE, MAX_CHUNK_BYTES) / row_bytes))

    def counter_entries(self) -> int:
        """Entries of pass 1's table of counts (at least 65,536)."""
        return max(self.total // (COUNTER_SHARE * ENTRY_BYTES), 1 << 16)

    def partition_counter_entries(self) -> int:
        """Entries of a cluster worker's table for one partition (at least 65,536)."""
        return max(self.total // (PARTITION_COUNTER_SHARE * ENTRY_BYTES), 1 << 16)

    def spool_bytes(self) -> int:
        """The rows between the passes held in memory before they go to disk."""
        return self.total // SPOOL_SHARE

    def part_bytes(self) -> int:
        """Bytes of a file a cluster worker reads as one part (at least 1 MB)."""
        return max(self.total // CHUNK_SHARE, 1 << 20)

    def reads_test_ahead(self, training_text_bytes: int) -> bool:
        """Whether ``train --test`` reads the test file in a child process beside
        training files holding this much text."""
        return training_text_bytes <= self.total // TEXT_SHARE

    def ahead(self) -> Budget:
        """The budget of the child process that reads the test file ahead."""
        return Budget(self.total // AHEAD_SHARE)

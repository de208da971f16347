"""Read-backed phasing of the caller's records, applied to the shard results in genome order.

Each shard's records come from the C++ core with the phasing evidence of its heterozygous PASS
calls: one row per read there (``phase_rec``, ``phase_sample``, ``phase_frag`` = read-name hash,
``phase_w`` = Phred-scaled support of the GT's second (> 0) or first (< 0) allele). The in-order
phaser (``_core.Phaser``, csrc/core/phasing.cpp) joins them into blocks over the whole contig;
this stage holds a shard back until its phase is final (every call in a block of two hets or more,
or in one whose fragments reach no further than the hets seen; or the contig ended), then adds ``phase_flip`` and ``ps`` (int64 [n, samples]: the
1-based POS of the block's first het, 0 when the call is not phased) to its records. The result
does not depend on the shard size, the thread count or the executor (see docs/phasing.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from . import _core

#: Longest gap (bp) between two hets of one fragment that links them (a fragment's reach is its
#: read's end, or its mate's start + length, and at most this far past its last het).
MAX_LINK = 100_000
#: Smallest vote (Phred) of the fragments for joining a het to a block.
MIN_VOTE = 10


class PhaseStage:
    """Feeds shard results to the phaser in genome order and returns those whose phase is final."""

    def __init__(self, n_samples: int, trios: Sequence[Sequence[int]] = (), max_link: int = MAX_LINK,
                 min_vote: int = MIN_VOTE, keep_fragments: bool = False) -> None:
        self._ns = n_samples
        self._max_link = max_link
        self._keep = keep_fragments
        self._phaser = _core.Phaser(n_samples, max_link, min_vote, [list(t) for t in trios], keep_fragments)
        #: with keep_fragments, per contig done: the first sample's phased fragments as arrays
        #: (read-name hash, HP, PS), for haplotagging
        self.fragment_tags: dict[str, tuple[Any, Any, Any]] = {}
        self._contig: str | None = None
        self._frontier = -1  # every het at or before this position (0-based) was fed
        self._held: deque[tuple[str, dict, Any, Any]] = deque()

    def feed(self, contig: str, recs: dict) -> list[tuple[str, dict]]:
        """One shard's (contig, records), in genome order; returns the shards now final, in order."""
        import numpy as np

        out: list[tuple[str, dict]] = []
        if contig != self._contig:
            out += self._release(everything=True)
            self._keep_tags()
            self._phaser.reset()
            self._contig, self._frontier = contig, -1
        block = flip = None
        n = len(recs["pos"])
        if n and "phase_rec" in recs:
            block, flip = self._phaser.add(
                recs["pos"], np.asarray(recs["gt"], dtype=np.int32), np.asarray(recs["filter"], dtype=np.int32),
                recs["phase_rec"], recs["phase_sample"], recs["phase_frag"], recs["phase_reach"], recs["phase_w"],
                self._ns)
        if n:
            self._frontier = max(self._frontier, int(recs["pos"][-1]))
        self._held.append((contig, recs, block, flip))
        out += self._release(everything=False)
        return out

    def finish(self) -> list[tuple[str, dict]]:
        """What is still held, all final now."""
        out = self._release(everything=True)
        self._keep_tags()
        return out

    def _keep_tags(self) -> None:
        if self._keep and self._contig is not None and self._contig not in self.fragment_tags:
            self.fragment_tags[self._contig] = self._phaser.fragment_tags(0)

    def _release(self, everything: bool) -> list[tuple[str, dict]]:
        import numpy as np

        out = []
        while self._held:
            contig, recs, block, flip = self._held[0]
            if not everything and block is not None and not self._phaser.final(block, self._frontier):
                break
            self._held.popleft()
            if block is not None:
                recs = dict(recs)
                ps = self._phaser.resolve(block)
                recs["ps"] = ps
                recs["phase_flip"] = np.where(ps > 0, flip, 0).astype(np.uint8)
            out.append((contig, recs))
        return out


class PhasingFormatter:
    """A ShardFormatter (vcf.py) behind a PhaseStage: shard_text may return the text of earlier
    shards (or nothing while it holds one back); finish() gives the rest."""

    def __init__(self, inner: Any, n_samples: int, trios: Sequence[Sequence[int]] = (),
                 keep_fragments: bool = False) -> None:
        self.inner = inner
        self.stage = PhaseStage(n_samples, trios, keep_fragments=keep_fragments)
        self.deflate_level = inner.deflate_level

    def shard_text(self, contig: str, recs: dict) -> bytes:
        return b"".join(self.inner.shard_text(c, r) for c, r in self.stage.feed(contig, recs))

    def finish(self) -> bytes:
        return b"".join(self.inner.shard_text(c, r) for c, r in self.stage.finish()) + self.inner.finish()


def haplotag(bam: str, output: str, tags: dict[str, tuple[Any, Any, Any]], command: str, threads: int = 1) -> int:
    """Writes `output` (BAM + .bai, whole or not at all): the reads of `bam`, each read of a phased
    fragment with HP (1 or 2: the haplotype of its block) and PS (the block's phase set), as
    `whatshap haplotag` does. Returns the number of reads tagged."""
    import os
    import tempfile

    from .errors import output_error

    folder = os.path.dirname(os.path.abspath(output))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(output)}.", suffix=".tmp.bam", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise output_error(output, exc) from None
    try:
        n = _core.haplotag_bam(bam, tmp, tags, command, threads)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, output)
        os.replace(tmp + ".bai", output + ".bai")
    except OSError as exc:
        raise output_error(output, exc) from None
    finally:
        for leftover in (tmp, tmp + ".bai"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return int(n)

"""gmscall: germline small-variant calling on GPU and CPU from one kernel source.

Public API:
    gmscall.call(bam, ref, regions, ...)   -> list of record dicts, or a VCF file (output=...)
    gmscall.call_iter(bam, ref, ...)        -> record dicts one at a time, in genome order
    gmscall.call_batches(bam, ref, ...)     -> one RecordBatch (numpy columns) per shard
    gmscall.genotype_gvcfs(gvcfs, ref, out) -> joint genotypes of one-sample gVCFs
    gmscall.check_gvcf(gvcf, ref)           -> every record of a gVCF validated (GvcfCheck)
    gmscall.call_somatic(tumor, ref, normal=...) -> somatic candidates (tumour/normal or tumour-only)
    gmscall.pileup(bam, ref, region, ...)  -> Pileup (numpy arrays)
    gmscall.learn_error_model(bams, ref, regions) -> ErrorModel per read group (indel gap penalties)
    gmscall.info()                          -> version, build features, devices
"""

from __future__ import annotations

from typing import Any

from .errors import BackendError, GmsError, InputError, OutputError

# numpy and the C++ core load on first use, so that `gmscall --version` is instant and the CLI can
# configure the process (thread counts) before numpy starts.
_LAZY = {"pileup": "pileup_api", "Pileup": "pileup_api", "call": "caller", "call_iter": "caller",
         "call_batches": "caller", "RecordBatch": "caller", "genotype_gvcfs": "gvcf.genotype",
         "check_gvcf": "gvcf.check", "GvcfCheck": "gvcf.check", "CallOptions": "options", "PileupOptions": "options",
         "call_somatic": "somatic", "SomaticOptions": "options", "ErrorModel": "error_model",
         "learn_error_model": "error_model", "read_error_model": "error_model", "write_error_model": "error_model"}


def __getattr__(name: str) -> Any:
    if name == "__version__":  # compiled into the core from pyproject's version
        from ._core import __version__

        return __version__
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'gmscall' has no attribute '{name}'")


def info() -> dict[str, Any]:
    """Version, htslib version, whether CUDA was compiled in, and the CUDA devices found."""
    from ._core import __version__ as version
    from .backend import core_info

    d = dict(core_info())
    d["version"] = version
    return d


__all__ = ["BackendError", "CallOptions", "ErrorModel", "GmsError", "GvcfCheck", "InputError", "OutputError",
           "Pileup", "PileupOptions", "RecordBatch", "SomaticOptions", "__version__", "call", "call_batches",
           "call_iter", "call_somatic", "check_gvcf", "genotype_gvcfs", "info", "learn_error_model", "pileup",
           "read_error_model", "write_error_model"]

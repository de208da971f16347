"""gmscall qc's outputs: plain TSV and JSON, and MultiQC custom-content files (``*_mqc.json``)
that ``multiqc`` picks up from the output folder with nothing of gmscall installed beside it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .relate import PairResult, fmt_float
from .scan import DP_MAX, GQ_BINS, INDEL_MAX

_MISMATCH_RULES = {"fail": [{"s_eq": "MISMATCH"}], "pass": [{"s_eq": "ok"}], "warn": [{"s_eq": "no call"}]}
_MISMATCH_COLOURS = [{"fail": "#e6194b"}, {"pass": "#5cb85c"}, {"warn": "#f0ad4e"}]
PLUGIN_SECTION_ORDER = 1000


def _write(path: Path, text: str) -> None:
    from ..sink import write_whole

    write_whole(path, text.encode())


def _tsv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    def cell(x: Any) -> str:
        if x is None:
            return "NA"
        if isinstance(x, bool):
            return "yes" if x else "no"
        if isinstance(x, float):
            return fmt_float(x)
        return str(x)

    _write(path, "\t".join(header) + "\n" + "".join("\t".join(cell(x) for x in r) + "\n" for r in rows))


_PARENT = {"parent_id": "gmscall", "parent_name": "gmscall",
           "parent_description": "Sample identity and quality from <code>gmscall qc</code>."}


def _mqc(path: Path, content: dict[str, Any]) -> None:
    if "parent_id" in content:
        content.update(_PARENT)
    if content.get("plot_type") in ("linegraph", "bargraph", "scatter") and not any(content["data"].values()):
        return  # nothing to plot (MultiQC would drop the section)
    _write(path, json.dumps(content, indent=1, default=_json_default) + "\n")


def _json_default(x: Any) -> Any:
    try:
        import numpy as np

        if isinstance(x, np.integer):
            return int(x)
        if isinstance(x, np.floating):
            return float(x)
        if isinstance(x, np.ndarray):
            return x.tolist()
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(type(x))


def write_outputs(report: dict[str, Any], out_dir: str | os.PathLike) -> list[Path]:
    """Write the report's TSVs, JSON and MultiQC files into ``out_dir``; returns their paths."""
    from ..errors import output_error

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise output_error(out, e) from None
    written: list[Path] = []

    def w(name: str) -> Path:
        p = out / name
        written.append(p)
        if p.exists():
            try:
                p.unlink()  # a section this run has no data for must not keep an older run's file
            except OSError as e:
                raise output_error(p, e) from None
        return p

    _write(w("gmscall_qc.json"), json.dumps(report, indent=1, default=_json_default) + "\n")
    samples = report["samples"]
    pairs = report["relatedness"]["pairs"]
    sex = report["sex"]

    # ---- plain TSVs
    _tsv(w("gmscall_qc.samples.tsv"),
         ["sample", "variants", "snv", "mnv", "insertion", "deletion", "complex", "titv", "het", "hom_alt",
          "het_hom_ratio", "haploid_alt", "missing", "callable_fraction", "callable_bases", "bases",
          "phased", "phase_blocks", "phase_n50"],
         [[s["sample"], s["variants"], s["snv"], s["mnv"], s["insertion"], s["deletion"], s["complex"], s["titv"],
           s["het"], s["hom_alt"], s["het_hom_ratio"], s["haploid_alt"], s["missing"], s["callable_fraction"],
           s["callable_bases"], s["bases"], s["phased"], s["phase_blocks"], s["phase_n50"]] for s in samples])
    _tsv(w("gmscall_qc.sex.tsv"),
         ["sample", "ped_sex", "inferred_sex", "status", "depth_sex", "x_depth_ratio", "y_depth_ratio",
          "het_sex", "x_het_share", "x_het_relative", "x_het_sites", "called_as", "note"],
         [[x["sample"], x["ped_sex"], x["inferred"], x["status"], x["depth_sex"], x["x_ratio"], x["y_ratio"],
           x["het_sex"], x["x_het_share"], x["x_het_relative"], x["x_het_sites"], x["called_as"], x["note"]]
          for x in sex])
    _tsv(w("gmscall_qc.relatedness.tsv"),
         ["sample1", "sample2", "relationship", "ped_relationship", "status", "kinship", "k0", "k1", "k2",
          "king_robust", "ibs0", "hethet", "sites", "informative", "span_bp", "note"],
         [[p["sample1"], p["sample2"], p["relationship"], p["expected"], p["status"], p["kinship"], p["k0"],
           p["k1"], p["k2"], p["king"], p["ibs0"], p["hethet"], p["sites"], p["informative"], p["span_bp"],
           p["note"]] for p in pairs])
    _tsv(w("gmscall_qc.mendel.tsv"),
         ["child", "father", "mother", "sites", "all_called", "mendel_errors", "rate", "denovo",
          "denovo_inconsistent"],
         [[*m["trio"], m["sites"], m["all_called"], m["inconsistent"], m["rate"], m["denovo"],
           m["denovo_inconsistent"]] for m in report["mendel"]])
    _tsv(w("gmscall_qc.denovo.tsv"), ["child", "chrom", "pos", "ref", "alt", "dnq", "genotypes"],
         [[d["child"], d["chrom"], d["pos"], d["ref"], d["alt"], d["dnq"], d["genotypes"]] for d in report["denovo"]])

    # ---- MultiQC custom content
    mismatches = report["mismatches"]
    summary = ("<strong>No mismatch with the PED.</strong>" if not mismatches else
               "<strong>Mismatches with the PED:</strong><ul>" + "".join(f"<li>{m}</li>" for m in mismatches)
               + "</ul>")
    _mqc(w("gmscall_general_mqc.json"), {
        "id": "gmscall_general", "plot_type": "generalstats",
        "pconfig": [
            {"gmscall_titv": {"title": "Ti/Tv", "namespace": "gmscall", "format": "{:,.2f}", "min": 0}},
            {"gmscall_het_hom": {"title": "Het/Hom", "namespace": "gmscall", "format": "{:,.2f}", "min": 0}},
            {"gmscall_callable": {"title": "% callable", "namespace": "gmscall", "suffix": "%", "min": 0,
                                  "max": 100, "scale": "RdYlGn"}},
            {"gmscall_sex": {"title": "Sex", "namespace": "gmscall"}},
        ],
        "data": {s["sample"]: {k: v for k, v in (
            ("gmscall_titv", s["titv"]), ("gmscall_het_hom", s["het_hom_ratio"]),
            ("gmscall_callable", None if s["callable_fraction"] is None else 100 * s["callable_fraction"]),
            ("gmscall_sex", next((x["inferred"] or "?" for x in sex if x["sample"] == s["sample"]), "?")),
        ) if v is not None} for s in samples},
    })
    _mqc(w("gmscall_identity_mqc.json"), {
        "id": "gmscall_identity", "section_name": "gmscall: sample identity", "parent_id": "gmscall",
        "parent_name": "gmscall",
        "plot_type": "html",
        "description": "Sex and relatedness checked against the PED.",
        "data": f'<div id="gmscall_identity_summary" class="gmscall-{"fail" if mismatches else "pass"}">{summary}</div>',
    })
    _mqc(w("gmscall_sex_mqc.json"), {
        "id": "gmscall_sex", "section_name": "gmscall: sex check", "parent_id": "gmscall", "parent_name": "gmscall",
        "plot_type": "table",
        "description": ("Sex from X/Y depth and from heterozygosity on chrX outside the PARs, against the PED. "
                        "MISMATCH: the data say another sex than the PED."),
        "pconfig": {"id": "gmscall_sex_table", "title": "gmscall: sex check", "col1_header": "Sample"},
        "headers": {
            "status": {"title": "Status", "cond_formatting_rules": _MISMATCH_RULES,
                       "cond_formatting_colours": _MISMATCH_COLOURS},
            "ped_sex": {"title": "PED sex"}, "inferred": {"title": "Inferred sex"},
            "x_ratio": {"title": "X depth ratio", "format": "{:,.2f}"},
            "y_ratio": {"title": "Y depth ratio", "format": "{:,.2f}"},
            "x_het_relative": {"title": "X het (rel. autosomes)", "format": "{:,.2f}"},
            "x_het_sites": {"title": "X ALT sites", "format": "{:,.0f}"},
            "note": {"title": "Note"},
        },
        "data": {x["sample"]: {k: x[k] for k in ("status", "ped_sex", "inferred", "x_ratio", "y_ratio",
                                                 "x_het_relative", "x_het_sites", "note") if x[k] is not None}
                 for x in sex},
    })
    _mqc(w("gmscall_relatedness_mqc.json"), {
        "id": "gmscall_relatedness", "section_name": "gmscall: relatedness", "parent_id": "gmscall",
        "parent_name": "gmscall", "plot_type": "table",
        "description": ("Kinship of every pair (IBD segments; KING-robust as plink2 for comparison), the "
                        "relationship it implies and the PED's. MISMATCH: they differ."),
        "pconfig": {"id": "gmscall_relatedness_table", "title": "gmscall: relatedness", "col1_header": "Pair"},
        "headers": {
            "status": {"title": "Status", "cond_formatting_rules": _MISMATCH_RULES,
                       "cond_formatting_colours": _MISMATCH_COLOURS},
            "relationship": {"title": "Inferred"}, "expected": {"title": "PED"},
            "kinship": {"title": "Kinship", "format": "{:,.3f}", "min": 0, "max": 0.5},
            "k0": {"title": "IBD0", "format": "{:,.2f}", "min": 0, "max": 1},
            "ibs0": {"title": "IBS0", "format": "{:,.4f}"},
            "king": {"title": "KING-robust", "format": "{:,.3f}"},
            "sites": {"title": "Sites", "format": "{:,.0f}"},
        },
        "data": {f'{p["sample1"]} vs {p["sample2"]}': {k: p[k] for k in (
            "status", "relationship", "expected", "kinship", "k0", "ibs0", "king", "sites") if p[k] is not None}
                 for p in pairs},
    })
    _mqc(w("gmscall_kinship_mqc.json"), {
        "id": "gmscall_kinship_plot", "section_name": "gmscall: kinship against IBS0", "parent_id": "gmscall",
        "parent_name": "gmscall", "plot_type": "scatter",
        "description": "Each pair: kinship (IBD) against IBS0; parent-child pairs have IBS0 near 0.",
        "pconfig": {"id": "gmscall_kinship_scatter", "title": "gmscall: kinship vs IBS0",
                    "xlab": "IBS0", "ylab": "kinship", "ymin": 0, "ymax": 0.55},
        "data": {f'{p["sample1"]} vs {p["sample2"]}': {"x": p["ibs0"], "y": p["kinship"] or 0.0,
                                                     "color": "#e6194b" if p["mismatch"] else "#4363d8"}
                 for p in pairs},
    })
    if report["mendel"]:
        _mqc(w("gmscall_mendel_mqc.json"), {
            "id": "gmscall_mendel", "section_name": "gmscall: Mendelian errors", "parent_id": "gmscall",
            "parent_name": "gmscall", "plot_type": "table",
            "description": "Per trio of the PED: sites called in all three whose child genotype no parent allele pair "
                           "makes, and de novo calls (INFO DENOVO / FORMAT DNQ).",
            "pconfig": {"id": "gmscall_mendel_table", "title": "gmscall: Mendelian errors", "col1_header": "Child"},
            "headers": {"trio": {"title": "Trio"}, "all_called": {"title": "Sites", "format": "{:,.0f}"},
                        "inconsistent": {"title": "Errors", "format": "{:,.0f}"},
                        "rate_pct": {"title": "% errors", "format": "{:,.2f}", "suffix": "%"},
                        "denovo": {"title": "De novo", "format": "{:,.0f}"}},
            "data": {m["trio"][0]: {"trio": ",".join(m["trio"]), "all_called": m["all_called"],
                                    "inconsistent": m["inconsistent"],
                                    "rate_pct": None if m["rate"] is None else 100 * m["rate"], "denovo": m["denovo"]}
                     for m in report["mendel"]},
        })
    _mqc(w("gmscall_variants_mqc.json"), {
        "id": "gmscall_variants", "section_name": "gmscall: variants per sample", "parent_id": "gmscall",
        "parent_name": "gmscall", "plot_type": "bargraph",
        "description": "PASS calls carrying an ALT allele, by allele type.",
        "pconfig": {"id": "gmscall_variants_bar", "title": "gmscall: variants", "ylab": "alleles"},
        "data": {s["sample"]: {k: s[k] for k in ("snv", "mnv", "insertion", "deletion", "complex")} for s in samples},
    })
    _mqc(w("gmscall_indels_mqc.json"), {
        "id": "gmscall_indel_lengths", "section_name": "gmscall: indel lengths", "parent_id": "gmscall",
        "parent_name": "gmscall", "plot_type": "linegraph",
        "description": f"Insertions (positive) and deletions (negative) by length; the ends hold {INDEL_MAX} bp "
                       "and longer.",
        "pconfig": {"id": "gmscall_indel_plot", "title": "gmscall: indel lengths", "xlab": "length (bp)",
                    "ylab": "alleles"},
        "data": {s["sample"]: [[n, int(s["indel_lengths"].get(n, 0))] for n in range(-INDEL_MAX, INDEL_MAX + 1) if n]
                 for s in samples if s["indel_lengths"]},
    })
    _mqc(w("gmscall_gq_mqc.json"), {
        "id": "gmscall_gq", "section_name": "gmscall: genotype quality", "parent_id": "gmscall",
        "parent_name": "gmscall", "plot_type": "linegraph",
        "description": "GQ of the variant calls" + ("; the gVCF's bases by GQ are under reference confidence"
                                                     if any(s["gvcf"] for s in samples) else ""),
        "pconfig": {"id": "gmscall_gq_plot", "title": "gmscall: GQ", "xlab": "GQ", "ylab": "count"},
        "data": {s["sample"]: _pairs(s["gq_hist"]) for s in samples if sum(s["gq_hist"])},
    })
    _mqc(w("gmscall_depth_mqc.json"), {
        "id": "gmscall_depth", "section_name": "gmscall: depth", "parent_id": "gmscall", "parent_name": "gmscall",
        "plot_type": "linegraph",
        "description": f"DP of the variant calls (the last bin holds {DP_MAX} and more).",
        "pconfig": {"id": "gmscall_depth_plot", "title": "gmscall: depth", "xlab": "DP", "ylab": "count"},
        "data": {s["sample"]: _pairs(s["dp_hist"]) for s in samples if sum(s["dp_hist"])},
    })
    gvcf_samples = [s for s in samples if s["gvcf"]]
    if gvcf_samples:
        _mqc(w("gmscall_callable_mqc.json"), {
            "id": "gmscall_callable", "section_name": "gmscall: callable bases", "parent_id": "gmscall",
            "parent_name": "gmscall", "plot_type": "bargraph",
            "description": f"Bases of the gVCF with GQ >= {report['params']['min_gq']} and depth >= "
                           f"{report['params']['min_dp']} (a block's MIN_DP).",
            "pconfig": {"id": "gmscall_callable_bar", "title": "gmscall: callable bases", "ylab": "bases"},
            "data": {s["sample"]: {"callable": s["callable_bases"], "not callable": s["bases"] - s["callable_bases"]}
                     for s in gvcf_samples},
        })
        _mqc(w("gmscall_gvcf_gq_mqc.json"), {
            "id": "gmscall_gvcf_gq", "section_name": "gmscall: reference confidence", "parent_id": "gmscall",
            "parent_name": "gmscall", "plot_type": "linegraph",
            "description": "Bases of the gVCF by GQ (reference blocks and variant records).",
            "pconfig": {"id": "gmscall_gvcf_gq_plot", "title": "gmscall: gVCF GQ", "xlab": "GQ", "ylab": "bases"},
            "data": {s["sample"]: _pairs(s["bp_gq_hist"][:GQ_BINS])
                     for s in gvcf_samples},
        })
    if report["error_model"]:
        _mqc(w("gmscall_error_model_mqc.json"), _error_model_content(report["error_model"]))
    if any(s["phase_blocks"] for s in samples):
        _mqc(w("gmscall_phase_mqc.json"), {
            "id": "gmscall_phase", "section_name": "gmscall: phasing", "parent_id": "gmscall",
            "parent_name": "gmscall", "plot_type": "table",
            "description": "Phase blocks (FORMAT PS): phased hets, blocks and the N50 of their spans.",
            "pconfig": {"id": "gmscall_phase_table", "title": "gmscall: phasing", "col1_header": "Sample"},
            "headers": {"phased": {"title": "Phased hets", "format": "{:,.0f}"},
                        "phase_blocks": {"title": "Blocks", "format": "{:,.0f}"},
                        "phase_n50": {"title": "Block N50 (bp)", "format": "{:,.0f}"}},
            "data": {s["sample"]: {k: s[k] for k in ("phased", "phase_blocks", "phase_n50") if s[k] is not None}
                     for s in samples},
        })
    return [p for p in written if p.exists()]


def _pairs(hist) -> list[list[int]]:
    """A histogram as MultiQC linegraph [x, y] pairs (JSON object keys would be strings, which
    MultiQC orders as text: 0, 1, 10, 100, ...)."""
    return [[i, int(v)] for i, v in enumerate(hist)]


def _error_model_content(groups: list[dict[str, str]]) -> dict[str, Any]:
    """The learnt indel error model (##gmscallErrorModel lines): gap-open Phred by repeat length,
    one line per read group and repeat period."""
    data: dict[str, list[list[float]]] = {}
    for g in groups:
        rg = g.get("ReadGroup", "?")
        for part in g.get("GapOpen", "").split(";"):
            period, _, values = part.partition(":")
            if not values:
                continue
            start = 1 if period == "P1" else 2
            series = []
            for k, v in enumerate(values.split(",")):
                try:
                    series.append([start + k, float(v)])
                except ValueError:
                    continue
            if series:
                data[f"{rg} {period}"] = series
    return {
        "id": "gmscall_error_model", "section_name": "gmscall: indel error model", "parent_id": "gmscall",
        "parent_name": "gmscall", "plot_type": "linegraph",
        "description": "Pair-HMM gap-open Phred learnt per read group (##gmscallErrorModel), by repeat period "
                       "(P1 homopolymers, P2 dinucleotides, ...) and repeat length in units. "
                       + "; ".join(f"{g.get('ReadGroup')}: {g.get('Platform', '?')}, {g.get('Loci', '?')} loci, "
                                   f"fit {g.get('Fit', '?')}" for g in groups),
        "pconfig": {"id": "gmscall_error_model_plot", "title": "gmscall: indel error model",
                    "xlab": "repeat length (units)", "ylab": "gap-open Phred"},
        "data": data,
    }


def pair_dict(p: PairResult) -> dict[str, Any]:
    d = {k: getattr(p, k) for k in ("sample1", "sample2", "sites", "hethet", "ibs0", "king", "informative", "k0",
                                    "k1", "k2", "kinship", "span_bp", "relationship", "expected",
                                    "expected_kinship", "mismatch", "note")}
    d["status"] = "MISMATCH" if p.mismatch else ("ok" if p.expected is not None else "no PED")
    return d

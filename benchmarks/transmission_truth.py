"""A trio child's transmission truth: its hets that the three truth genotypes inform (one parent
gives one allele, the other the other, and not the swap), phased paternal|maternal in one block.

The simulated trio set (sim-trio-chr20-2x150) plants each sample's hets on random haplotypes, so
its child's planted phase is not what transmission says (the child's ALT from its mother sits on
either haplotype): scoring pedigree phasing against it counts every other transmission-phased
pair as a switch. This truth is what transmission alone can know, from the truth genotypes:

    python benchmarks/transmission_truth.py CHILD.vcf.gz FATHER.vcf.gz MOTHER.vcf.gz -o child.tx.vcf
    gmscall eval --phase --truth child.tx.vcf --calls trio.vcf.gz --calls-sample HG002 --ref ref.fa

Alleles are matched by (CHROM, POS, REF, ALT) as the truths write them (the GIAB sets agree on
that); a site absent from a parent's truth is hom-ref there.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pysam


def _genotypes(path: str) -> dict[tuple[str, int, str], tuple[str, str]]:
    """{(chrom, pos, ref): (allele, allele)} of the first sample's called diploid genotypes."""
    out = {}
    with pysam.VariantFile(path) as vf:
        for rec in vf:
            gt = rec.samples[0]["GT"]
            if gt is None or len(gt) != 2 or None in gt:
                continue
            out[(rec.chrom, rec.pos, rec.ref)] = (rec.alleles[gt[0]], rec.alleles[gt[1]])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("child")
    ap.add_argument("father")
    ap.add_argument("mother")
    ap.add_argument("-o", "--output", required=True, help="VCF (plain text) of the informed child hets")
    args = ap.parse_args(argv)
    child, father, mother = (_genotypes(p) for p in (args.child, args.father, args.mother))
    with pysam.VariantFile(args.child) as vf:
        header = vf.header.copy()
        sample = next(iter(vf.header.samples))
    lines = []
    n_het = 0
    for (chrom, pos, ref), (a, b) in sorted(child.items()):
        if a == b:
            continue
        n_het += 1
        f = father.get((chrom, pos, ref), (ref, ref))
        m = mother.get((chrom, pos, ref), (ref, ref))
        ab, ba = a in f and b in m, b in f and a in m
        if ab == ba:
            continue
        pat, mat = (a, b) if ab else (b, a)
        alts = sorted({x for x in (pat, mat) if x != ref})
        alleles = [ref, *alts]
        lines.append(f"{chrom}\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\tPASS\t.\tGT\t"
                     f"{alleles.index(pat)}|{alleles.index(mat)}")
    with open(args.output, "w") as out:
        text = str(header).split("\n")
        keep = ("##fileformat", "##contig", "##FORMAT=<ID=GT")
        out.write("\n".join(ln for ln in text if ln.startswith(keep)) + "\n")
        out.write(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}\n")
        out.write("".join(ln + "\n" for ln in lines))
    print(f"{len(lines)} of {n_het} child hets informed by the parents' truth genotypes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

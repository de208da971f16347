#!/usr/bin/env python3
"""Somatic calling measured: gmscall somatic (tumour/normal and tumour-only) against VarScan2 on the
sim-somatic set, and on a lower-purity mixture made from it.

    python benchmarks/bench_somatic.py [--data ../shared/data] [--out DIR] [--threads 2]
                                       [--varscan-jar JAR] [--repeat 3]

VarScan2 (Debian non-free) is looked for as --varscan-jar, $VARSCAN_JAR, or fetched with
`apt-get download varscan` from Debian's non-free section into --out (no system change); without
it its rows say "missing". Its pipeline: `samtools mpileup -B -q 1 -f REF -r REGION normal tumour |
varscan somatic - OUT --mpileup 1 --output-vcf 1`, then `varscan processSomatic` on the SNV and
indel VCFs; the high-confidence somatic calls (*.Somatic.hc.vcf) are scored.

Sets: `sim-somatic-chr20-2x150` as given (tumour 80x, purity 0.8, normal 40x) and `mix-0.53`: half
of the tumour's reads with half of the normal's (60x, purity 0.53; expected allele fractions x2/3,
written into a rescaled truth), called against the other half of the normal (20x). `--sets NAME,...`
takes other tumour/normal pairs instead, rows of kind `simulated-somatic` of the `datasets.tsv` in
`--data` (as `simulate_somatic.py` writes them: tumour and normal BAM, truth.somatic.vcf.gz,
truth.germline.vcf.gz and confident.bed in the set's folder), without the mixture.

Reported per run: precision/recall/F1 of PASS calls inside the confident BED, recall by allele
fraction bin and type (gmscall.evaluation.evaluate_somatic), germline truth alleles among PASS calls,
wall time (median of --repeat for gmscall; one run for VarScan2), and gmscall somatic over gmscall
call (germline) of the tumour. Writes somatic.md and somatic.json to --out.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DEFAULT_DATA, read_datasets, warm_page_cache

from gmscall.evaluation import evaluate, evaluate_somatic

SET = "sim-somatic-chr20-2x150"


def sh(cmd: str) -> float:
    t = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True)
    return time.perf_counter() - t


def fetch_varscan(out: Path) -> Path | None:
    """VarScan2's jar from Debian non-free via apt-get download, unpacked under out/varscan."""
    target = out / "varscan"
    jar = target / "root" / "usr" / "share" / "java" / "varscan.jar"
    if jar.exists():
        return jar
    target.mkdir(parents=True, exist_ok=True)
    (target / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (target / "nonfree.sources").write_text(
        "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: non-free\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    apt = ["apt-get", "-o", f"Dir::Etc::sourcelist={target / 'nonfree.sources'}", "-o",
           "Dir::Etc::sourceparts=/nonexistent", "-o", f"Dir::State::Lists={target / 'lists'}", "-o",
           "Debug::NoLocking=1"]
    try:
        subprocess.run([*apt, "update"], check=True, capture_output=True, timeout=300)
        subprocess.run([*apt, "download", "varscan"], check=True, capture_output=True, cwd=target, timeout=300)
        deb = next(target.glob("varscan_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(target / "root")], check=True)
    except (subprocess.SubprocessError, StopIteration, OSError) as exc:
        print(f"VarScan2 not fetched: {exc}", file=sys.stderr)
        return None
    return jar if jar.exists() else None


def bgzip_sorted(vcfs: list[Path], out: Path) -> Path:
    """Concatenates VCFs of one caller (same header) into a sorted, bgzipped, indexed file."""
    header, body = [], []
    for k, v in enumerate(vcfs):
        for line in v.read_text().splitlines():
            if line.startswith("#"):
                if k == 0:
                    header.append(line)
            elif line:
                body.append(line)
    body.sort(key=lambda l: (l.split("\t")[0], int(l.split("\t")[1])))
    plain = out.with_suffix("")
    plain.write_text("\n".join(header + body) + "\n")
    import pysam

    pysam.tabix_compress(str(plain), str(out), force=True)
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return out


def make_mix(d: Path, out: Path) -> dict[str, Path]:
    """Half the tumour's reads + half the normal's (seeded), the normal's other half, and a truth
    with expected allele fractions rescaled by the tumour share of the mixed depth."""
    mix = out / "mix"
    mix.mkdir(parents=True, exist_ok=True)
    t_half, n_in, n_rest = mix / "t_half.bam", mix / "n_in.bam", mix / "n_rest.bam"
    sh(f"samtools view -b --subsample 0.5 --subsample-seed 7 -o {t_half} {d / 'tumor.bam'}")
    sh(f"samtools view -b --subsample 0.5 --subsample-seed 9 -o {n_in} -U {n_rest} {d / 'normal.bam'}")
    tumor = mix / "tumor.bam"
    sh(f"samtools merge -f -o {tumor} {t_half} {n_in} && samtools index {tumor} && samtools index {n_rest}")
    share = 40.0 / 60.0
    truth = mix / "truth.somatic.vcf"
    with gzip.open(d / "truth.somatic.vcf.gz", "rt") as fh, open(truth, "w") as w:
        for line in fh:
            if not line.startswith("#") and "VAF=" in line:
                cols = line.split("\t")
                info = []
                for kv in cols[7].split(";"):
                    if kv.startswith("VAF="):
                        kv = f"VAF={float(kv[4:]) * share:.4f}"
                    info.append(kv)
                cols[7] = ";".join(info)
                line = "\t".join(cols)
            w.write(line)
    import pysam

    pysam.tabix_compress(str(truth), str(truth) + ".gz", force=True)
    pysam.tabix_index(str(truth) + ".gz", preset="vcf", force=True)
    return {"tumor": tumor, "normal": n_rest, "truth": Path(str(truth) + ".gz")}


def score(truth: Path, germline: Path, calls: Path, ref: Path, bed: Path, region: str, sample: str) -> dict:
    s = evaluate_somatic(str(truth), str(calls), str(ref), bed=str(bed), region=region, calls_sample=sample)
    g = evaluate(str(germline), str(calls), str(ref), bed=str(bed), region=region, calls_sample=sample)
    d = s.to_dict()
    d["germline_in_pass"] = g.allele["ALL"].tp_query
    d["pass_calls"] = s.tp + s.fp
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-somatic"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--varscan-jar", type=Path, default=os.environ.get("VARSCAN_JAR"))
    ap.add_argument("--no-varscan", action="store_true", help="leave VarScan2 out (its rows say missing)")
    ap.add_argument("--sets", default=None,
                    help=f"tumour/normal sets of --data's datasets.tsv (kind simulated-somatic) [{SET} and its mixture]")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    jar = None if args.no_varscan else (args.varscan_jar or fetch_varscan(out))
    if jar is not None and not Path(jar).exists():
        print(f"{jar}: not found; VarScan2 rows say missing", file=sys.stderr)
        jar = None
    rows_of = {ds.name: ds for ds in read_datasets(args.data)}
    sets = {}
    for name in (args.sets.split(",") if args.sets else [SET]):
        ds = rows_of.get(name)
        if ds is None or ds.kind != "simulated-somatic" or len(ds.bams) != 2:
            sys.exit(f"{name}: no tumour/normal row (kind simulated-somatic) in {args.data / 'datasets.tsv'}")
        sets[name] = {"tumor": ds.bams[0], "normal": ds.bams[1], "truth": ds.truth, "ref": ds.ref, "bed": ds.bed,
                      "region": ds.region, "germline": ds.folder / "truth.germline.vcf.gz"}
    if not args.sets:
        sets["mix-0.53"] = dict(sets[SET], **make_mix(args.data / SET, out))
    gms = [sys.executable, "-m", "gmscall.cli"]
    rows = []
    for name, s in sets.items():
        ref, bed, region = s["ref"], s["bed"], s["region"]
        warm_page_cache([s["tumor"], s["normal"]])
        base = out / name
        base.mkdir(exist_ok=True)
        somatic = f"{' '.join(gms)} somatic -f {ref} -r {region} --threads {args.threads} --tumor {s['tumor']}"
        germline = f"{' '.join(gms)} call -f {ref} -r {region} --threads {args.threads} {s['tumor']}"
        tn, to = base / "tn.vcf.gz", base / "to.vcf.gz"
        runs = {
            "gmscall somatic T/N": (f"{somatic} --normal {s['normal']} -o {tn}", tn),
            "gmscall somatic tumour-only": (f"{somatic} -o {to}", to),
            "gmscall call (germline, tumour)": (f"{germline} -o {base / 'germ.vcf.gz'}", None),
        }
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.repeat):  # alternating, so that drifts of the machine hit all alike
            for k, (cmd, _) in runs.items():
                times[k].append(sh(cmd))
        for k, (cmd, vcf) in runs.items():
            row = {"set": name, "caller": k, "cmd": cmd, "wall_s": statistics.median(times[k])}
            if vcf is not None:
                row.update(score(s["truth"], s["germline"], vcf, ref, bed, region, "TUMOR"))
            rows.append(row)
        if jar is None:
            rows.append({"set": name, "caller": "VarScan2 somatic + processSomatic (hc)", "status": "missing"})
            continue
        vs = base / "varscan"
        vs.mkdir(exist_ok=True)
        java = f"java -jar {jar}"
        cmd = (f"samtools mpileup -B -q 1 -f {ref} -r {region} {s['normal']} {s['tumor']} 2>/dev/null | "
               f"{java} somatic - {vs / 'out'} --mpileup 1 --output-vcf 1 2>/dev/null && "
               f"{java} processSomatic {vs / 'out.snp.vcf'} 2>/dev/null && "
               f"{java} processSomatic {vs / 'out.indel.vcf'} 2>/dev/null")
        wall = sh(cmd)
        merged = bgzip_sorted([vs / "out.snp.Somatic.hc.vcf", vs / "out.indel.Somatic.hc.vcf"], vs / "hc.vcf.gz")
        row = {"set": name, "caller": "VarScan2 somatic + processSomatic (hc)", "cmd": cmd, "wall_s": wall}
        row.update(score(s["truth"], s["germline"], merged, ref, bed, region, "TUMOR"))
        rows.append(row)
    (out / "somatic.json").write_text(json.dumps(rows, indent=1))
    head = ("| set | caller | precision | recall | F1 | recall AF <0.10 / 0.10-0.25 / >=0.25 | SNV / INDEL / ITD "
            "recall | germline in PASS | wall s |")
    lines = [head, "|" + "---|" * 9]

    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    for r in rows:
        if "tp" not in r:  # a caller that is missing, or the germline reference run
            wall = f"{r['wall_s']:.1f}" if "wall_s" in r else ""
            lines.append(f"| {r['set']} | {r['caller']} | {r.get('status', '-')} | | | | | | {wall} |")
            continue
        af = " / ".join(f"{c['found']}/{c['truth']}" for c in list(r["by_af"].values())[:3])
        ty = " / ".join(f"{c['found']}/{c['truth']}" for c in r["by_type"].values())
        lines.append(f"| {r['set']} | {r['caller']} | {f(r['precision'])} | {f(r['recall'])} | {f(r['f1'])} | {af} | "
                     f"{ty} | {r['germline_in_pass']} of {r['pass_calls']} | {r['wall_s']:.1f} |")
    (out / "somatic.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

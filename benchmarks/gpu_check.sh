#!/usr/bin/env bash
# The whole GPU check as one command for a lent GPU machine (no network there; see DESIGN.md):
# installs a carried pysam wheel, builds with CUDA required, runs the CUDA parity tests (single-sample,
# joint, gVCF and somatic calling, assembled haplotypes, pileup) and, when a data slice was carried,
# the GPU benchmarks. Everything it reports lands in $OUT.
#
# Prepare here (the device tool's README): a cp312 pysam wheel in .whl/ and, optionally, a slice of
# the simulated set small enough to travel, e.g.
#   samtools view -b -o .gpudata/reads.bam ../shared/data/sim-hg002-chr20-2x150/reads.bam chr20:1000001-2000000
#   samtools index .gpudata/reads.bam; cp ../shared/data/sim-hg002-chr20-2x150/ref.fa* .gpudata/
# and for somatic mode half of the somatic pair:
#   for s in tumor normal; do samtools view -b -o .gpudata/$s.bam ../shared/data/sim-somatic-chr20-2x150/$s.bam \
#     chr20:2000001-2500000 && samtools index .gpudata/$s.bam; done
# then run: bash benchmarks/gpu_check.sh   (carry: .whl .gpudata)
set -euo pipefail
OUT=${OUT:-/tmp/gmscall-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps .whl/pysam-*.whl
GMSCALL_CUDA=ON python3 -m pip install -q --no-build-isolation --no-deps . 2>&1 | tail -5
gmscall info | tee "$OUT/info.txt"
python3 -m pytest -m cuda -ra tests 2>&1 | tee "$OUT/pytest-cuda.txt"
if [ -f .gpudata/reads.bam ]; then
  region=chr20:1000001-2000000
  TIMEFORMAT="%R s"
  for backend in cpu cuda; do
    echo -n "$backend call: " >> "$OUT/timing.txt"
    { time gmscall call -f .gpudata/ref.fa -r $region --threads 16 --backend $backend \
        -o "$OUT/calls.$backend.vcf.gz" .gpudata/reads.bam; } 2>> "$OUT/timing.txt"
    echo -n "$backend gvcf: " >> "$OUT/timing.txt"
    { time gmscall call -f .gpudata/ref.fa -r $region --threads 16 --backend $backend --gvcf \
        -o "$OUT/calls.$backend.g.vcf.gz" .gpudata/reads.bam; } 2>> "$OUT/timing.txt"
    if [ -f .gpudata/tumor.bam ]; then
      echo -n "$backend somatic: " >> "$OUT/timing.txt"
      { time gmscall somatic -f .gpudata/ref.fa -r chr20:2000001-2500000 --threads 16 --backend $backend \
          --tumor .gpudata/tumor.bam --normal .gpudata/normal.bam -o "$OUT/somatic.$backend.vcf.gz"; } 2>> "$OUT/timing.txt"
    fi
    echo -n "$backend pileup: " >> "$OUT/timing.txt"
    { time gmscall pileup -f .gpudata/ref.fa -r $region --threads 16 --backend $backend \
        .gpudata/reads.bam > "$OUT/pileup.$backend.tsv"; } 2>> "$OUT/timing.txt"
  done
  cat "$OUT/timing.txt"
  # Same records on both backends (only the command/backend header lines may differ).
  diff <(zcat "$OUT/calls.cpu.vcf.gz" | grep -v '^##gmscall') <(zcat "$OUT/calls.cuda.vcf.gz" | grep -v '^##gmscall') \
    && echo "CPU/GPU records identical" | tee -a "$OUT/timing.txt"
  diff <(zcat "$OUT/calls.cpu.g.vcf.gz" | grep -v '^##gmscall') <(zcat "$OUT/calls.cuda.g.vcf.gz" | grep -v '^##gmscall') \
    && echo "CPU/GPU gVCF identical" | tee -a "$OUT/timing.txt"
  if [ -f .gpudata/tumor.bam ]; then
    diff <(zcat "$OUT/somatic.cpu.vcf.gz" | grep -v '^##gmscall') <(zcat "$OUT/somatic.cuda.vcf.gz" | grep -v '^##gmscall') \
      && echo "CPU/GPU somatic identical" | tee -a "$OUT/timing.txt"
  fi
  cmp "$OUT/pileup.cpu.tsv" "$OUT/pileup.cuda.tsv" && echo "CPU/GPU pileup identical" | tee -a "$OUT/timing.txt"
  rm -f "$OUT"/pileup.*.tsv
fi

"""The gVCF route: checking gVCFs (`check`: `gmscall check`) and genotyping a cohort from them
(`genotype`: `gmscall genotype`). Writing a gVCF is part of calling (`gmscall call --gvcf`)."""

"""The attack's world: one simulated population split into beacon members, a reference panel
and non-member victims, and a node that holds the members only.

`genomesh simulate` writes one cohort of members + panel + non-members (one population mix,
one coalescent history). The samples are shuffled with the run's seed and split:

* members: ingested into the node (the beacon's dataset); member victims are drawn from them;
* reference panel: never ingested; the attacker's allele frequencies and LD come from it
  (Shringarpure & Bustamante used the 1000 Genomes panel the same way);
* non-member victims: never ingested; their test statistics give the null distribution.

Genotypes are read with cyvcf2 into an (individual x site) ALT-dosage matrix (int8).
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENOMESH = [sys.executable, "-m", "genomesh.cli.main"]
DATASET = "privacy-bench"


@dataclass(frozen=True)
class Sites:
    """The simulated SNVs, in VCF order."""

    chrom: str
    pos: np.ndarray  # 1-based VCF POS
    ref: list[str]
    alt: list[str]

    def query(self, j: int) -> dict[str, str]:
        """Beacon v2 sequence-query parameters for ALT of site j (0-based `start`)."""
        return {
            "referenceName": self.chrom.removeprefix("chr"),
            "start": str(int(self.pos[j]) - 1),
            "referenceBases": self.ref[j],
            "alternateBases": self.alt[j],
        }


@dataclass(frozen=True)
class World:
    """Genotypes of everybody, and who is what."""

    sites: Sites
    samples: list[str]
    dosage: np.ndarray  # (individuals x sites) ALT copies, int8
    haplotypes: np.ndarray  # (2 * individuals x sites) 0/1, int8 (phased)
    members: np.ndarray  # row indices into `samples`
    panel: np.ndarray
    outsiders: np.ndarray  # non-member victims
    member_victims: np.ndarray  # a subset of `members`

    @property
    def member_carriers(self) -> np.ndarray:
        """Per site: how many beacon members carry ALT (what a true boolean depends on)."""
        return (self.dosage[self.members] > 0).sum(axis=0)

    @property
    def panel_haplotypes(self) -> np.ndarray:
        rows = np.concatenate([2 * self.panel, 2 * self.panel + 1])
        return self.haplotypes[np.sort(rows)]


def simulate(out: Path, *, n: int, length: float, seed: int) -> Path:
    """`genomesh simulate` into `out` (kept between runs with the same options)."""
    stamp = out / ".options"
    options = f"{n} {int(length)} {seed}"
    if stamp.is_file() and stamp.read_text() == options:
        return out / "cohort"
    cmd = [*GENOMESH, "simulate", str(out / "cohort"), "--individuals", str(n)]
    cmd += ["--length", str(int(length)), "--seed", str(seed), "--duo-mix", "biobank", "--force"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    stamp.write_text(options)
    return out / "cohort"


def load_world(
    cohort: Path,
    *,
    n_members: int,
    n_panel: int,
    n_outsiders: int,
    n_member_victims: int,
    seed: int,
) -> World:
    """Read the cohort's genotypes and split the samples (see the module docstring)."""
    from cyvcf2 import VCF

    vcf = VCF(str(cohort / "cohort.vcf.gz"))
    samples = list(vcf.samples)
    need = n_members + n_panel + n_outsiders
    if len(samples) < need:
        raise SystemExit(f"cohort has {len(samples)} people, the split needs {need}")
    pos, ref, alt, haps = [], [], [], []
    chrom = ""
    for rec in vcf:
        chrom = rec.CHROM
        pos.append(rec.POS)
        ref.append(rec.REF)
        alt.append(rec.ALT[0])
        gt = rec.genotype.array()[:, :2]  # (samples, 2) phased alleles
        haps.append(gt.reshape(-1).astype(np.int8))
    vcf.close()
    haplotypes = np.ascontiguousarray(np.array(haps, dtype=np.int8).T)  # (2n x sites)
    dosage = haplotypes[0::2] + haplotypes[1::2]
    order = np.random.default_rng(seed).permutation(len(samples))
    members = np.sort(order[:n_members])
    panel = np.sort(order[n_members : n_members + n_panel])
    outsiders = np.sort(order[n_members + n_panel : need])
    victims = np.random.default_rng(seed + 1).choice(members, size=n_member_victims, replace=False)
    sites = Sites(chrom, np.array(pos, dtype=np.int64), ref, alt)
    return World(sites, samples, dosage, haplotypes, members, panel, outsiders, np.sort(victims))


def build_node(world: World, cohort: Path, node_dir: Path) -> Path:
    """A node folder holding the members only (`genomesh node init` + `node ingest`)."""
    stamp = node_dir / ".members"
    ids = [world.samples[i] for i in world.members]
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest:
        return node_dir
    work = node_dir.parent / "members"
    work.mkdir(parents=True, exist_ok=True)
    (work / "samples.txt").write_text("\n".join(ids) + "\n")
    vcf = work / "members.vcf.gz"
    subprocess.run(
        ["bcftools", "view", "-S", str(work / "samples.txt"), "-Oz", "-o", str(vcf),
         str(cohort / "cohort.vcf.gz")],
        check=True,
    )  # fmt: skip
    wanted = set(ids)
    people = json.loads((cohort / "individuals.json").read_text())
    (work / "individuals.json").write_text(json.dumps([p for p in people if p["id"] in wanted]))
    with (cohort / "consent.tsv").open() as src, (work / "consent.tsv").open("w") as dst:
        rows = csv.reader(src, delimiter="\t")
        out = csv.writer(dst, delimiter="\t", lineterminator="\n")
        header = next(rows)
        out.writerow(header)
        out.writerows(r for r in rows if r[0] in wanted)
    if not (node_dir / "genomesh.toml").is_file():
        subprocess.run(
            [*GENOMESH, "node", "init", str(node_dir), "--name", "privacy bench", "--jurisdiction", "ZZ"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    subprocess.run(
        [*GENOMESH, "node", "ingest", str(node_dir), "--dataset", DATASET, "--vcf", str(vcf),
         "--individuals", str(work / "individuals.json"), "--consent", str(work / "consent.tsv")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    stamp.write_text(digest)
    return node_dir

"""GWAS test helpers: a simulated cohort split over nodes, and independent pooled references.

* `load_cohort(cohort)`: individuals (with `age`, `sex`, the planted `quantitative` and
  `binary` traits), variants and int8 dosages of a `genomesh simulate` cohort.
* `split_nodes(...)`: the people split over several in-memory nodes (plus an optional
  reference panel for PC loadings).
* `naive_linear(...)`: per-variant float64 OLS on the pooled data, complete-case per
  variant — the obviously correct version the federated one is checked against.
* `write_vcf(...)` and `run_plink2_glm(...)`: the same pooled data through plink2 --glm.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genomesh.testing.federation import InMemoryLocalData

_YEARS = re.compile(r"P(\d+)Y")


def load_cohort(cohort: Any) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(individuals, variants, dosages) of a simulated cohort (VCF order)."""
    import json

    from cyvcf2 import VCF

    people = json.loads(Path(cohort.individuals).read_text(encoding="utf-8"))
    traits = pd.read_csv(cohort.traits, sep="\t", dtype={"individual_id": str})
    rows = []
    for person in people:
        age = np.nan
        for measure in person.get("measures", []):
            moment = measure.get("observationMoment", {}).get("iso8601duration", "")
            if m := _YEARS.fullmatch(moment):
                age = float(m.group(1))
        rows.append({
            "individual_id": person["id"],
            "sex": person.get("sex", {}).get("label", "unknown"),
            "age": age,
            "phenotypes": [f["featureType"]["id"] for f in person.get("phenotypicFeatures", [])],
        })  # fmt: skip
    individuals = pd.DataFrame(rows).merge(traits, on="individual_id", how="left")
    vcf = VCF(str(cohort.vcf), gts012=True)
    order = {s: i for i, s in enumerate(vcf.samples)}
    individuals = individuals.set_index("individual_id").loc[list(vcf.samples)].reset_index()
    records, genos = [], []
    for v in vcf:
        records.append((v.CHROM, v.POS, v.ID or ".", v.REF, v.ALT[0]))
        gt = v.gt_types.astype(np.int8)
        gt[gt == 3] = -1  # cyvcf2 gts012: 0, 1, 2 = ALT count, 3 = unknown
        genos.append(gt)
    vcf.close()
    variants = pd.DataFrame(records, columns=["chrom", "pos", "variant_id", "ref", "alt"])
    variants.insert(0, "variant_index", np.arange(len(variants)))
    dosages = np.array(genos, dtype=np.int8).reshape(len(records), len(order))
    return individuals, variants, dosages


def split_nodes(
    individuals: pd.DataFrame,
    variants: pd.DataFrame,
    dosages: np.ndarray,
    *,
    n_nodes: int = 3,
    panel: int = 0,
    seed: int = 1,
    min_count: int = 5,
    chunk_variants: int = 500,
    sparse: bool = True,
) -> tuple[dict[str, InMemoryLocalData], np.ndarray | None]:
    """Nodes `node-1..n` with one dataset `ds-i` each (random split), and the reference
    panel's dosages (the first `panel` people of a random order) or None."""
    order = np.random.default_rng(seed).permutation(len(individuals))
    panel_idx, rest = order[:panel], order[panel:]
    nodes = {}
    for i, part in enumerate(np.array_split(np.sort(rest), n_nodes)):
        nodes[f"node-{i + 1}"] = InMemoryLocalData(
            {
                f"ds-{i + 1}": (
                    individuals.iloc[part],
                    variants,
                    np.ascontiguousarray(dosages[:, part]),
                )
            },
            min_count=min_count,
            chunk_variants=chunk_variants,
            sparse=sparse,
        )
    return nodes, (dosages[:, np.sort(panel_idx)] if panel else None)


def pooled(nodes: dict[str, InMemoryLocalData]) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """All nodes' people (with a `site` column = dataset id) and dosages, concatenated."""
    frames, blocks = [], []
    for data in nodes.values():
        for ds in data.dataset_ids:
            frames.append(data.individuals(ds).assign(site=ds))
            blocks.append(data._data[ds][2])
    return (
        pd.concat(frames, ignore_index=True),
        np.hstack(blocks),
        sorted(f for data in nodes.values() for f in data.dataset_ids),
    )


def design_matrix(
    people: pd.DataFrame, sites: Sequence[str], covariates: Sequence[str], pcs: np.ndarray | None
) -> np.ndarray:
    """[site indicators, covariates (sex male=1), PCs] per person (NaN where missing)."""
    cols = [(people["site"] == s).to_numpy(dtype=float) for s in sites]
    for c in covariates:
        if c == "sex":
            cols.append(people["sex"].map({"male": 1.0, "female": 0.0}).to_numpy(dtype=float))
        else:
            cols.append(pd.to_numeric(people[c], errors="coerce").to_numpy(dtype=float))
    if pcs is not None:
        cols.extend(pcs.T)
    return np.column_stack(cols)


def naive_linear(dosages: np.ndarray, C: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Per-variant OLS of y on [C, g] in float64 over the people with g observed.

    C holds its own intercepts (site indicators). Returns beta, se, t, p, n (NaN where the
    genotype is constant).
    """
    from scipy import stats

    keep = np.isfinite(y) & np.isfinite(C).all(axis=1)
    out = {k: np.full(len(dosages), np.nan) for k in ("beta", "se", "t", "p", "n")}
    for v, g in enumerate(dosages):
        obs = keep & (g >= 0)
        if not obs.any() or np.ptp(g[obs]) == 0:
            continue
        X = np.column_stack([C[obs], g[obs].astype(np.float64)])
        X = X[:, np.abs(X).sum(axis=0) > 0]
        coef, *_ = np.linalg.lstsq(X, y[obs], rcond=None)
        resid = y[obs] - X @ coef
        df = obs.sum() - X.shape[1]
        cov = np.linalg.inv(X.T @ X) * (resid @ resid) / df
        out["beta"][v] = coef[-1]
        out["se"][v] = np.sqrt(cov[-1, -1])
        out["t"][v] = coef[-1] / out["se"][v]
        out["p"][v] = 2 * stats.t.sf(abs(out["t"][v]), df)
        out["n"][v] = obs.sum()
    return out


def write_vcf(
    path: Path, variants: pd.DataFrame, samples: Sequence[str], dosages: np.ndarray
) -> Path:
    """An unphased VCF of int8 dosages (-1 = ./.)."""
    lut = np.array(["0/0", "0/1", "1/1", "./."])
    header = (
        '##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        + "".join(f"##contig=<ID={c}>\n" for c in dict.fromkeys(variants["chrom"].astype(str)))
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(samples)
        + "\n"
    )
    with open(path, "w", encoding="ascii") as fh:
        fh.write(header)
        for (chrom, pos, ref, alt), g in zip(
            variants[["chrom", "pos", "ref", "alt"]].itertuples(index=False), dosages, strict=True
        ):
            ids = f"{str(chrom).removeprefix('chr')}:{pos}:{ref}:{alt}"
            fh.write(f"{chrom}\t{pos}\t{ids}\t{ref}\t{alt}\t.\tPASS\t.\tGT\t")
            fh.write("\t".join(lut[np.where(g < 0, 3, g)]) + "\n")
    return path


def run_plink2_glm(
    workdir: Path,
    *,
    genotypes: Path,
    people: pd.DataFrame,
    y: np.ndarray,
    covariates: np.ndarray,
    covariate_names: Sequence[str],
    binary: bool = False,
    threads: int = 1,
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """plink2 --glm omit-ref hide-covar on `genotypes` (a .vcf or a pgen prefix); BETA and
    SE columns for logistic models too (`extra` adds --glm modifiers such as "firth")."""
    plink2 = shutil.which("plink2")
    if plink2 is None:
        raise RuntimeError("plink2 is not installed")
    ids = people["individual_id"].astype(str).to_numpy()
    pheno = workdir / "pheno.tsv"
    values = (y + 1).astype(int).astype(str) if binary else [repr(float(v)) for v in y]
    pd.DataFrame({"#IID": ids, "TRAIT": values}).to_csv(pheno, sep="\t", index=False)
    covar = workdir / "covar.tsv"
    frame = pd.DataFrame(covariates, columns=list(covariate_names))
    frame.insert(0, "#IID", ids)
    frame.to_csv(covar, sep="\t", index=False, float_format="%.17g", na_rep="NA")
    source = (
        ["--vcf", str(genotypes)]
        if str(genotypes).endswith(".vcf")
        else ["--pfile", str(genotypes)]
    )
    out = workdir / "glm"
    cmd = [
        plink2, *source, "--pheno", str(pheno), "--covar", str(covar),
        "--glm", "omit-ref", "hide-covar", *extra,
        "cols=chrom,pos,ref,alt,firth,test,nobs,beta,se,tz,p,err", "--threads", str(threads),
        "--out", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    result = next(workdir.glob("glm.TRAIT.glm.*"))
    return pd.read_csv(result, sep="\t", na_values=["NA"])


def naive_firth(X: np.ndarray, y: np.ndarray, *, tol: float = 1e-12) -> tuple[float, float]:
    """Firth-penalised logistic regression on pooled data (float64 Newton on the modified
    score); (beta, SE) of the last column, SE from the inverse information at the optimum."""
    b = np.zeros(X.shape[1])
    for _ in range(500):
        mu = 1 / (1 + np.exp(-X @ b))
        w = mu * (1 - mu)
        inv = np.linalg.inv(X.T @ (X * w[:, None]))
        h = w * np.einsum("ij,jk,ik->i", X, inv, X)
        step = inv @ (X.T @ (y - mu + h * (0.5 - mu)))
        b += np.clip(step, -5, 5)
        if np.abs(step).max() < tol:
            break
    mu = 1 / (1 + np.exp(-X @ b))
    w = mu * (1 - mu)
    return float(b[-1]), float(np.sqrt(np.linalg.inv(X.T @ (X * w[:, None]))[-1, -1]))

from __future__ import annotations

import numpy as np
import pytest

from genomesh.store.annotations import layout_from_header, parse_annotations
from genomesh.store.normalize import normalise, trim_alleles


@pytest.mark.parametrize(
    ("pos", "ref", "alt", "expected"),
    [
        (100, "A", "G", (100, "A", "G")),
        (100, "AGCCAT", "AGCTAT", (103, "C", "T")),  # MNV shrinks to the differing base
        (100, "CA", "CAA", (100, "C", "CA")),  # suffix first: anchor stays at POS
        (100, "CTATT", "C", (100, "CTATT", "C")),
        (100, "ATAGCT", "ATAG", (103, "GCT", "G")),
        (100, "GCCCAC", "T", (100, "GCCCAC", "T")),
        (100, "AC", "GT", (100, "AC", "GT")),
    ],
)
def test_trim_alleles__minimal_representation(pos, ref, alt, expected):
    assert trim_alleles(pos, ref, alt) == expected


@pytest.mark.parametrize(
    ("ref", "alt", "vtype", "length"),
    [
        ("A", "G", "SNV", 1),
        ("AC", "GT", "MNV", 2),
        ("C", "CAAT", "INS", 3),
        ("CTATT", "C", "DEL", 4),
        ("GCCCAC", "T", "INDEL", 5),
    ],
)
def test_normalise__sequence_types(ref, alt, vtype, length):
    v = normalise(10, ref, alt)
    assert (v.variant_type, v.length) == (vtype, length)
    assert v.start == v.pos - 1 and v.end == v.start + len(v.ref)


@pytest.mark.parametrize(
    ("alt", "svtype", "expected"),
    [("<DEL>", None, "DEL"), ("<DUP:TANDEM>", None, "DUP"), ("<INV>", None, "INV"),
     ("<CN0>", None, "CNV"), ("<CNV>", None, "CNV"), ("<FOO>", "DUP", "DUP"),
     ("<FOO>", None, "SV"), ("G]17:198982]", None, "BND")],
)  # fmt: skip
def test_normalise__symbolic_types_and_end(alt, svtype, expected):
    v = normalise(1000, "A", alt, sv_end=5000, svtype=svtype)
    assert v.variant_type == expected
    assert (v.start, v.end, v.ref, v.alt) == (999, 5000, "A", alt)


def test_parse_annotations__vep_csq_matches_trimmed_alleles():
    header = [
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
        'VEP. Format: Allele|Consequence|IMPACT|SYMBOL|HGVSp">'
    ]
    layout = layout_from_header(header)
    assert layout is not None and layout.key == "CSQ"
    raw = "-|frameshift_variant|HIGH|BRCA2|ENSP1:p.Gly1Ter,TT|missense_variant&splice_region_variant|MODERATE|XYZ|"
    out = parse_annotations(raw, layout, ref="GT", alts=["G", "GTT"])
    assert out["G"] == (["BRCA2"], ["frameshift_variant"], ["p.Gly1Ter"])
    assert out["GTT"] == (["XYZ"], ["missense_variant", "splice_region_variant"], [])


def test_parse_annotations__snpeff_ann():
    layout = layout_from_header(['##INFO=<ID=ANN,Number=.,Type=String,Description="x">'])
    raw = "T|missense_variant|MODERATE|IL17RA|ENSG|transcript|ENST|protein_coding|1/13|c.19C>T|p.Pro7Ser|||||"
    out = parse_annotations(raw, layout, ref="C", alts=["T"])
    assert out["T"] == (["IL17RA"], ["missense_variant"], ["p.Pro7Ser"])


def _naive_counts(calls):
    """Obviously correct per-call loop (the reference for the vectorised _count)."""
    out = []
    for row in calls.tolist():
        ac = an = het = hom = missing = 0
        dosages = []
        for call in row:
            alt = sum(a == 1 for a in call)
            called = sum(a >= 0 for a in call)
            ac += alt
            an += called
            missing += called == 0
            het += 0 < alt < called
            hom += 0 < alt == called
            dosages.append(alt if called else -1)
        out.append((ac, an, het, hom, missing, dosages))
    return out


@pytest.mark.parametrize("ploidy", [1, 2, 3])
def test_count__vectorised_equals_naive_loop(ploidy):
    import numpy as np

    from genomesh.store.vcf_reader import VariantBatch, _count

    rng = np.random.default_rng(ploidy)
    calls = rng.choice(np.array([-2, -1, 0, 0, 1, 1], dtype=np.int8), size=(40, 25, ploidy))
    batch = VariantBatch()
    _count(batch, calls, np.zeros(calls.shape[:2], dtype=bool))
    got = [
        (int(a), int(b), int(c), int(d), int(e), f.tolist())
        for a, b, c, d, e, f in zip(
            batch.ac, batch.an, batch.n_het, batch.n_hom_alt, batch.n_missing, batch.dosage,
            strict=True,
        )
    ]  # fmt: skip
    assert got == _naive_counts(calls)


@pytest.mark.parametrize("ploidy", [1, 2])
def test_count__packed_sums_equal_bincount_over_many_sample_blocks(ploidy):
    """Ploidy 1-2 counts come from packed row sums in blocks of samples; with 5,000 samples
    (three blocks) and rows of all-ALT calls (the largest field sums) they equal the general
    bincount path."""
    import numpy as np

    from genomesh.store.vcf_reader import VariantBatch, _count

    rng = np.random.default_rng(7)
    calls = rng.choice(np.array([-2, -1, 0, 1, 1], dtype=np.int8), size=(6, 5000, ploidy))
    calls[0] = 1
    calls[1] = -1
    packed, general = VariantBatch(), VariantBatch()
    _count(packed, calls, np.zeros(calls.shape[:2], dtype=bool))
    _count(general, np.asfortranarray(calls), np.zeros(calls.shape[:2], dtype=bool))
    for key in ("ac", "an", "n_het", "n_hom_alt", "n_missing", "dosage"):
        assert getattr(packed, key).tolist() == getattr(general, key).tolist(), key
    assert packed.ac[0] == 5000 * ploidy


def test_genotypes__raw_bcf_decoding_equals_cyvcf2_genotype_array(tmp_path):
    """Ingest decodes htslib's raw GT codes in bulk; every kind of call must come out as
    cyvcf2's Genotypes.array() reads it (alleles, -1 missing, -2 fill, phase)."""
    import zarr
    from cyvcf2 import VCF

    from genomesh.store import ingest_dataset, init_node
    from tests.store.conftest import rec, write_vcf

    samples = ("A", "B", "C", "D", "E", "F", "G", "H")
    records = [
        rec(1, 10, "A", "G", "0/1", "1|1", ".", "./.", "1", "0|.", ".|1", ".|."),
        rec(1, 20, "A", "G", "1", "0", ".", "1", "0", "1", "0", "0"),  # a haploid record
        rec("X", 30, "A", "G", "0/1", "1", "0", "1|0", ".", "0/0", "1/1", "0|1"),
    ]
    vcf = write_vcf(tmp_path / "v.vcf.gz", records, samples=samples)
    expected = [r.genotype.array() for r in VCF(str(vcf))]
    node = init_node(tmp_path / "node", name="n", jurisdiction="GB")
    ingest_dataset(node.path, "d", vcf=vcf)
    root = zarr.open_group(str(node.dataset("d").zarr_path), mode="r")
    calls = root["call_genotype"][:]
    phased = root["call_genotype_phased"][:]
    for i, arr in enumerate(expected):
        p = arr.shape[1] - 1
        want = np.full((len(samples), 2), -2, dtype=np.int16)
        want[:, :p] = arr[:, :p]
        assert calls[i].tolist() == want.tolist(), i
        assert phased[i].tolist() == (arr[:, p] == 1).tolist(), i


def test_genotypes__many_alt_alleles_and_fill_decode(tmp_path):
    """Allele numbers above 126 take the int16 decoding path; fill and missing stay right."""
    from genomesh.store import ingest_dataset, init_node
    from tests.store.conftest import rec, write_vcf

    alts = ",".join("A" + "C" * k for k in range(1, 131))  # 130 ALT alleles
    vcf = write_vcf(tmp_path / "v.vcf", [rec(1, 10, "A", alts, "0/129", "1", "129|.")])
    node = init_node(tmp_path / "node", name="n", jurisdiction="GB")
    ingest_dataset(node.path, "d", vcf=vcf)
    ds = node.dataset("d")
    con = ds.connect()
    index = dict(con.execute("SELECT alt, variant_index FROM variants").fetchall())
    assert len(index) == 130
    assert ds.carriers(index["A" + "C" * 129]) == [("S1", 1), ("S3", 1)]
    assert ds.carriers(index["AC"]) == [("S2", 1)]  # a haploid call in a diploid record
    an = con.execute("SELECT DISTINCT an FROM variants").fetchall()
    assert an == [(4,)]  # S1 two alleles, S2 one (the other is fill), S3 one (missing)


def test_zarr__edge_chunks_in_both_dimensions_read_back(tmp_path, monkeypatch):
    """With tiny chunks (2 variants x 2 samples) genotype chunks are flushed several times
    and the per-variant arrays only at close; edge chunks in both dimensions read back exact."""
    import zarr

    from genomesh.store import ingest_dataset, init_node, writers
    from tests.store.conftest import rec, write_vcf

    monkeypatch.setattr(writers, "VARIANTS_CHUNK", 2)
    monkeypatch.setattr(writers, "SAMPLES_CHUNK", 2)
    records = [
        rec(1, 10, "A", "G", "0/1", "1|1", "./."),
        rec(1, 20, "C", "T,G", "1/2", "0|0", "1"),
        rec(1, 30, "G", "A", "0/0", "0|1", "1/1"),
        rec(2, 40, "T", "C", "1/1", ".", "0/1"),
    ]
    vcf = write_vcf(tmp_path / "v.vcf", records)
    node = init_node(tmp_path / "node", name="n", jurisdiction="GB")
    ingest_dataset(node.path, "d", vcf=vcf)
    root = zarr.open_group(str(node.dataset("d").zarr_path), mode="r")
    assert root["call_genotype"].chunks == (2, 2, 2)
    assert root["call_genotype"][:].tolist() == [
        [[0, 1], [1, 1], [-1, -1]],
        [[1, 0], [0, 0], [1, -2]],  # ALT T: the G call counts as REF
        [[0, 1], [0, 0], [0, -2]],  # ALT G
        [[0, 0], [0, 1], [1, 1]],
        [[1, 1], [-1, -2], [0, 1]],
    ]
    assert root["call_genotype_phased"][:].tolist() == [
        [False, True, False],
        [False, True, True],
        [False, True, True],
        [False, True, False],
        [False, True, False],
    ]

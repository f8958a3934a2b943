"""The VCF Zarr store is written chunk by chunk without zarr-python (writers._ChunkedArray);
these tests hold it to what zarr-python writes for the same arrays, byte for byte."""

from __future__ import annotations

from pathlib import Path

from tests.store.conftest import rec, write_vcf


def _rewrite_with_zarr(src: Path, dst: Path) -> None:
    """Every array of the store `src`, written again by zarr-python with the same settings."""
    import zarr

    from genomesh.store.writers import _COMPRESSOR

    old = zarr.open_group(str(src), mode="r")
    new = zarr.open_group(str(dst), mode="w", zarr_format=2)
    new.attrs.update(dict(old.attrs))
    for name, arr in sorted(old.arrays()):
        data = arr[...]
        out = new.create_array(
            name, shape=arr.shape, dtype=str if arr.dtype == object else arr.dtype,
            chunks=arr.chunks, fill_value=arr.fill_value, compressors=_COMPRESSOR,
        )  # fmt: skip
        if data.size:
            out[...] = data
        out.attrs.update(dict(arr.attrs))
    zarr.consolidate_metadata(new.store)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_zarr_store__byte_identical_to_zarr_python(tmp_path, monkeypatch):
    """Several variant and sample chunks, edge chunks in both dimensions, a multi-allelic split,
    a haploid call, chunks holding only the fill value (not written) and ids in some chunks."""
    from genomesh.store import ingest_dataset, init_node, writers

    monkeypatch.setattr(writers, "VARIANTS_CHUNK", 2)
    monkeypatch.setattr(writers, "SAMPLES_CHUNK", 2)
    records = [
        rec(1, 10, "A", "G", "./.", "./.", "./.", vid="rs1"),
        rec(1, 11, "C", "T", "./.", "./.", "./."),
        rec(1, 20, "C", "T,G", "1/2", "0|0", "1"),
        rec(1, 30, "G", "A", "0/0", "0|1", "1/1"),
        rec(2, 40, "T", "C", "1/1", ".", "0/1", vid="rs9;x"),
    ]
    vcf = write_vcf(tmp_path / "v.vcf", records)
    node = init_node(tmp_path / "node", name="n", jurisdiction="GB")
    ingest_dataset(node.path, "d", vcf=vcf)
    ours = node.dataset("d").zarr_path
    _rewrite_with_zarr(ours, tmp_path / "zarr.vcz")
    mine, theirs = _files(ours), _files(tmp_path / "zarr.vcz")
    assert sorted(mine) == sorted(theirs)
    assert "call_genotype/0.0.0" not in mine  # all missing: only the fill value
    assert [k for k in mine if mine[k] != theirs[k]] == []

"""Stream one VCF into a staging folder: Zarr genotypes, Parquet index, people and consent.

The main thread parses batches; a writer thread decodes their genotypes and compresses and
writes them (numpy, blosc and Parquet release the GIL), one batch queued so memory stays flat.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import duckdb

from genomesh.core.consent import DataUseTerm
from genomesh.core.genome import CHROMOSOMES
from genomesh.store.consent import ConsentFile
from genomesh.store.dataset import _sql_path
from genomesh.store.individuals import Individual
from genomesh.store.tables import write_consent, write_people
from genomesh.store.vcf_reader import VariantBatch, VcfReader
from genomesh.store.writers import ParquetIndexWriter, ZarrGenotypeWriter

Progress = Callable[[int, int | None], None]


def _sort_variants(path: Path) -> None:
    """Rewrite variants.parquet sorted by (chromosome order, pos); variant_index is kept."""
    ranks = ", ".join(f"'{c}'" for c in CHROMOSOMES)
    tmp = path.with_suffix(".sorted.parquet")
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(
            f"COPY (SELECT * FROM read_parquet({_sql_path(path)}) "
            f"ORDER BY list_position([{ranks}], chrom), pos, variant_index) "
            f"TO {_sql_path(tmp)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
        )
    finally:
        con.close()
    os.replace(tmp, path)


class _Writer(threading.Thread):
    """Decodes and writes batches (Zarr + Parquet) while the main thread parses the next ones.

    cyvcf2 releases the GIL only inside htslib's read of each record and must take it back
    for every record, so Python-level work here stalls the parser: this thread gets the work
    that mostly runs without the GIL (numpy take/sum over the batch's genotype block, blosc
    for Zarr, zstd for Parquet). The queue holds one batch, so at most three are alive
    (parsing, queued, writing) and memory stays flat in the number of variants.
    """

    def __init__(self, folder: Path, reader: VcfReader, index: ParquetIndexWriter) -> None:
        super().__init__(name="genomesh-ingest-writer", daemon=True)
        self.folder, self.reader, self.index = folder, reader, index
        self.zw: ZarrGenotypeWriter | None = None
        self.queue: queue.Queue[VariantBatch | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.ended = False  # None has been queued
        self.complete = False  # every batch was queued: close the store at the end

    def zarr(self) -> ZarrGenotypeWriter:
        if self.zw is None:  # created once the first record has fixed the ploidy
            self.zw = ZarrGenotypeWriter(
                self.folder / "genotypes.vcz", samples=self.reader.samples,
                ploidy=self.reader.ploidy, contig_lengths=self.reader.contig_lengths,
            )  # fmt: skip
        return self.zw

    def run(self) -> None:
        while (batch := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.reader.complete(batch)
                    self.zarr().add(batch)
                    self.index.add(batch)
                except BaseException as exc:  # handed to the main thread
                    self.error = exc
            if self.complete and self.queue.empty():  # end() was called after the last put
                break
        if self.error is None and self.complete:
            try:  # the last chunks and the metadata, while the main thread writes the tables
                self.zarr().close()
            except BaseException as exc:
                self.error = exc

    def put(self, batch: VariantBatch) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(batch)

    def end(self) -> None:
        """No more batches: the thread writes what it holds, closes the Zarr store and ends.
        Does not wait for it: when the last batch is still queued, the thread sees
        `complete` once it has taken it; otherwise None wakes it."""
        self.complete = True
        try:
            self.queue.put_nowait(None)
            self.ended = True
        except queue.Full:
            pass

    def stop(self) -> None:
        """Let the thread end without closing the store (after an error elsewhere)."""
        if not self.ended:
            self.queue.put(None)
            self.ended = True
        self.join()

    def finish(self) -> None:
        """Wait for the thread; raise its error if it had one."""
        self.stop()
        if self.error is not None:
            raise self.error


def write_version(
    folder: Path,
    *,
    reader: VcfReader,
    people: list[Individual],
    consent_file: ConsentFile,
    dataset_terms: list[DataUseTerm],
    progress: Progress | None,
    batch_records: int,
) -> dict[str, int]:
    index = ParquetIndexWriter(folder / "variants.parquet", folder / "carriers.parquet")
    writer = _Writer(folder, reader, index)
    writer.start()
    n_records = n_skipped = 0
    total = reader.total_records
    try:
        for batch in reader.batches(batch_records=batch_records):
            writer.put(batch)
            n_records += batch.n_records
            n_skipped += batch.n_skipped
            if progress is not None:
                progress(n_records, total)
        writer.end()  # the writer now drains its last batches, mostly without the GIL, so
        # the people and consent tables (pure Python, needing nothing from the VCF but the
        # samples) are written meanwhile rather than after it
        sample_index = {s: i for i, s in enumerate(reader.samples)}
        write_people(people, sample_index, folder)
        write_consent([p.id for p in people], consent_file.individuals, dataset_terms, folder)
        writer.finish()
    finally:
        if writer.is_alive():  # an error in the main thread: stop the writer cleanly
            writer.stop()
        index.close()
    if not index.sorted:
        _sort_variants(folder / "variants.parquet")
    return {
        "n_records": n_records,
        "n_skipped": n_skipped,
        "n_variants": index.n_variants,
        "n_carriers": index.n_carriers,
    }


__all__ = ["Progress", "write_version"]

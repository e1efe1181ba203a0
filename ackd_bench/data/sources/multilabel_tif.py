"""`multilabel-tif`: a folder of multiband GeoTIFFs plus a label table giving every file its classes.

The table (option `table`, default: the one `labels.csv`, `labels.parquet` or `labels.json` in the root)
has one row per file:
- `file`: path of the GeoTIFF relative to the root (POSIX);
- `labels`: the file's class names: a list (Parquet, JSON) or one string separated by `;` (CSV;
  class names may contain commas);
- `primary` (optional): the primary class (matching, student label), one of `labels`; default the
  first of `labels`.
JSON may also be an object `{file: [class names]}` or `{file: {"labels": [...], "primary": ...}}`.
Option `band_names` (required): the files' bands in order (as for `multiband-tif`); every file must have
exactly that many bands and the same dtype. Files not in the table are ignored; a table row whose file is
missing is a DataError. Every sample carries all its labels (`extra["labels"]`, primary first; see
`_multilabel.py`). sample_id = the file path without extension, `/` -> `-` (filesystem-safe). Region =
the UTM zone EPSG code when the files have a CRS, else option `region`, else the root folder's name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ackd_bench.data import raster
from ackd_bench.data.bands import band_indices, resolve_band_set, validate_band_names
from ackd_bench.data.manifest import check_rel_path
from ackd_bench.data.sources import SOURCES, RawSample, Source, sort_samples
from ackd_bench.data.sources._folders import safe_id
from ackd_bench.data.sources._multilabel import LABELS_KEY
from ackd_bench.errors import ConfigError, DataError

TABLE_NAMES = ("labels.csv", "labels.parquet", "labels.json")
CSV_SEPARATOR = ";"


@SOURCES.register("multilabel-tif")
class MultilabelTif(Source):
    name = "multilabel-tif"
    modality = "ms"
    defaults = {"band_names": None, "table": None, "region": None}

    def __init__(self, root, *, bands=None, size=64, **options):
        super().__init__(root, bands=bands, size=size, **options)
        spec = self.options["band_names"]
        if not spec:
            raise ConfigError("source 'multilabel-tif' needs option band_names (comma list of the files' bands)")
        self.file_bands = resolve_band_set(spec)
        validate_band_names(self.file_bands)
        self.bands = self.bands or self.file_bands
        band_indices(self.file_bands, self.bands)

    # ---- the label table ---------------------------------------------------------------------------
    def table_path(self) -> Path:
        if self.options["table"]:
            path = Path(self.options["table"])
            return path if path.is_absolute() else self.root / path
        if not self.root.is_dir():
            raise DataError("not a folder", self.root)
        found = [self.root / n for n in TABLE_NAMES if (self.root / n).is_file()]
        if len(found) != 1:
            raise DataError(
                f"expected exactly one label table ({', '.join(TABLE_NAMES)}) in the root, found "
                f"{[p.name for p in found] or 'none'}; or pass option table",
                self.root,
            )
        return found[0]

    def read_table(self) -> list[tuple[str, list[str]]]:
        """(file, labels with the primary first) per row, in table order."""
        path = self.table_path()
        if not path.is_file():
            raise DataError("label table not found", path)
        rows = _table_rows(path)
        out, seen = [], set()
        for i, (file, labels, primary) in enumerate(rows):
            where = f"row {i + 1}"
            if not isinstance(file, str) or not file:
                raise DataError(f"{where}: 'file' must be a non-empty path", path)
            check_rel_path(file, path)
            if file in seen:
                raise DataError(f"{where}: file {file!r} listed twice", path)
            seen.add(file)
            if isinstance(labels, str):
                labels = [c.strip() for c in labels.split(CSV_SEPARATOR)]
            labels = [str(c).strip() for c in (labels if labels is not None else [])]
            if not labels or not all(labels) or len(set(labels)) != len(labels):
                raise DataError(f"{where} ({file}): labels must be distinct non-empty class names, got {labels}", path)
            primary = (
                labels[0]
                if primary is None or (isinstance(primary, float) and np.isnan(primary)) or primary == ""
                else str(primary)
            )
            if primary not in labels:
                raise DataError(f"{where} ({file}): primary {primary!r} is not one of its labels {labels}", path)
            out.append((file, [primary] + [c for c in labels if c != primary]))
        if not out:
            raise DataError("label table has no rows", path)
        return out

    # ---- samples -----------------------------------------------------------------------------------
    def scan(self) -> list[RawSample]:
        samples, ids = [], set()
        dtype = None
        for file, labels in self.read_table():
            path = self.root / file
            if not path.is_file():
                raise DataError("file listed in the label table is missing", path)
            head = raster.read_header(path)
            raster.check_header(path, head, count=len(self.file_bands), dtype=dtype)
            dtype = head.dtype
            sid = safe_id(str(Path(file).with_suffix("")).replace("/", "-"))
            if sid in ids:
                raise DataError(f"two files give the same sample id {sid!r}", path)
            ids.add(sid)
            samples.append(
                RawSample(
                    sample_id=sid,
                    class_name=labels[0],
                    path=file,
                    source=self.name,
                    region=raster.utm_region(head.crs) or str(self.options["region"] or self.root.resolve().name),
                    height=head.height,
                    width=head.width,
                    bands=self.bands,
                    crs=head.crs,
                    footprint=raster.footprint_4326(head.crs, head.bounds),
                    extra={LABELS_KEY: labels},
                )
            )
        return sort_samples(samples)

    def read(self, sample: RawSample) -> np.ndarray:
        idx = band_indices(self.file_bands, sample.bands)
        return raster.read_bands(self.root / sample.path, idx, count=len(self.file_bands))


def _table_rows(path: Path) -> list[tuple[object, object, object]]:
    """(file, labels, primary or None) per row of a CSV / Parquet / JSON label table."""
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict):
                doc = [{"file": k, **(v if isinstance(v, dict) else {"labels": v})} for k, v in doc.items()]
            if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
                raise DataError(
                    "JSON label table must be a list of {file, labels[, primary]} objects or an object {file: labels}",
                    path,
                )
            df = pd.DataFrame(doc)
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        elif suffix == ".csv":
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            raise DataError("label table must be .csv, .parquet or .json", path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"unreadable label table ({' '.join(str(exc).split())[:160]})", path) from None
    missing = [c for c in ("file", "labels") if c not in df.columns]
    if missing:
        raise DataError(f"label table lacks column(s) {missing} (has {list(df.columns)})", path)
    primary = df["primary"] if "primary" in df.columns else [None] * len(df)
    return [
        (f, list(v) if not isinstance(v, str) and v is not None else v, p)
        for f, v, p in zip(df["file"], df["labels"], primary)
    ]

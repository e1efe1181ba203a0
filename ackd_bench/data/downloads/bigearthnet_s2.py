"""BigEarthNet-S2 v1.0: 590,326 Sentinel-2 patches (120 x 120 px at 10 m), multi-label CORINE 2018 (Sumbul et al. 2019)."""

from ackd_bench.data.downloads import DatasetEntry, register
from ackd_bench.data.sources.bigearthnet_s2 import CLASSES_43

ENTRY = register(
    DatasetEntry(
        name="bigearthnet-s2",
        title="BigEarthNet-S2 v1.0",
        version="BigEarthNet-S2-v1.0.tar.gz (2019 release; md5 of the Zenodo copy as pinned by torchgeo)",
        archive="BigEarthNet-S2-v1.0.tar.gz",
        # The publisher archived v1.0 on Zenodo (record 12687186) when bigearth.net moved to v2.0; the md5 is
        # that copy's, so it is tried first (a 66 GB file fetched from a copy that differs would be wasted).
        urls=(
            "https://zenodo.org/records/12687186/files/BigEarthNet-S2-v1.0.tar.gz",
            "https://bigearth.net/downloads/BigEarthNet-S2-v1.0.tar.gz",
        ),
        checksum="md5:5a64e9ce38deb036a435a7b59494924c",
        size_bytes=66_000_000_000,
        extracted_bytes=110_000_000_000,
        licence="CDLA-Permissive-1.0; contains modified Copernicus Sentinel-2 data",
        citation="Sumbul, Charfuelan, Demir, Markl. BigEarthNet: A Large-Scale Benchmark Archive for Remote Sensing Image "
        "Understanding. IGARSS 2019. doi:10.1109/IGARSS.2019.8900532",
        homepage="https://bigearth.net/",
        layout="BigEarthNet-v1.0",
        classes=CLASSES_43,  # the source's list: one place for the 43 CORINE names
        source="bigearthnet-s2",
        contents="590,326 patches from 125 tiles (10 European countries, 2017-2018), 12 bands (no B10) as per-band GeoTIFFs "
        "at 10/20/60 m, multi-label: 43 CORINE classes (19-class nomenclature derivable)",
        notes="each patch folder <patch>/ holds <patch>_B01.tif..B12.tif and <patch>_labels_metadata.json; the publisher lists patches under seasonal snow or cloud/shadow to exclude",
    )
)

"""EuroSAT-MS (all 13 bands): 27,000 Sentinel-2 L1C tiles, 64 x 64 px, 10 classes (Helber et al. 2019)."""

from ackd_bench.data.downloads import DatasetEntry, register

# Shared with the eurosat-rgb entry (the same tiles, rendered).
EUROSAT_FACTS = {
    "licence": "MIT (EuroSAT); contains modified Copernicus Sentinel-2 data",
    "citation": "Helber, Bischke, Dengel, Borth. EuroSAT: A Novel Dataset and Deep Learning Benchmark for Land Use and "
    "Land Cover Classification. IEEE JSTARS 12(7):2217-2226, 2019. doi:10.1109/JSTARS.2019.2918242",
    "homepage": "https://github.com/phelber/EuroSAT",
}
EUROSAT_CLASSES = (
    "AnnualCrop",
    "Forest",
    "HerbaceousVegetation",
    "Highway",
    "Industrial",
    "Pasture",
    "PermanentCrop",
    "Residential",
    "River",
    "SeaLake",
)

ENTRY = register(
    DatasetEntry(
        name="eurosat-ms",
        title="EuroSAT-MS (all bands)",
        version="EuroSATallBands.zip (DFKI release, 2019; pinned by the torchgeo mirror's md5)",
        archive="EuroSATallBands.zip",
        urls=(
            "https://madm.dfki.de/files/sentinel/EuroSATallBands.zip",
            "https://hf.co/datasets/torchgeo/eurosat/resolve/1ce6f1bfb56db63fd91b6ecc466ea67f2509774c/EuroSATallBands.zip",
        ),
        checksum="md5:5ac12b3b2557aa56e1826e981e8e200e",
        size_bytes=2_070_000_000,
        extracted_bytes=2_950_000_000,
        **EUROSAT_FACTS,
        layout="ds/images/remote_sensing/otherDatasets/sentinel_2/tif",
        classes=EUROSAT_CLASSES,
        source="eurosat-ms",
        contents="27,000 tiles, 10 classes (2,000-3,000 each), 64x64 px, 13 bands uint16 GeoTIFF (B01..B12, B8A)",
    )
)

"""EuroSAT-RGB: the same 27,000 tiles as EuroSAT-MS rendered to 8-bit RGB JPEG (Helber et al. 2019)."""

from ackd_bench.data.downloads import DatasetEntry, register
from ackd_bench.data.downloads.eurosat_ms import EUROSAT_CLASSES, EUROSAT_FACTS

ENTRY = register(
    DatasetEntry(
        name="eurosat-rgb",
        title="EuroSAT-RGB",
        version="EuroSAT.zip (DFKI release, 2019; pinned by the torchvision/torchgeo md5)",
        archive="EuroSAT.zip",
        urls=(
            "https://madm.dfki.de/files/sentinel/EuroSAT.zip",
            "https://huggingface.co/datasets/torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip",
        ),
        checksum="md5:c8fa014336c82ac7804f0398fcb19387",
        size_bytes=94_300_000,
        extracted_bytes=110_000_000,
        **EUROSAT_FACTS,
        layout="2750",
        classes=EUROSAT_CLASSES,
        source="imagefolder-rgb",
        contents="27,000 JPEGs, 10 classes, 64x64 px RGB (the same tiles as eurosat-ms: never pair it with eurosat-ms "
        "as an unpaired student)",
    )
)

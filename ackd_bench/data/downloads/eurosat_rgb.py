"""EuroSAT-RGB: the same 27,000 tiles as EuroSAT-MS rendered to 8-bit RGB JPEG (Helber et al. 2019)."""

from ackd_bench.data.downloads import DatasetEntry, register

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
        licence="MIT (EuroSAT); contains modified Copernicus Sentinel-2 data",
        citation="Helber, Bischke, Dengel, Borth. EuroSAT: A Novel Dataset and Deep Learning Benchmark for Land Use and Land "
        "Cover Classification. IEEE JSTARS 12(7):2217-2226, 2019. doi:10.1109/JSTARS.2019.2918242",
        homepage="https://github.com/phelber/EuroSAT",
        layout="2750",
        classes=(
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
        ),
        source="imagefolder-rgb",
        contents="27,000 JPEGs, 10 classes, 64x64 px RGB (the same tiles as eurosat-ms: never pair it with eurosat-ms "
        "as an unpaired student)",
    )
)

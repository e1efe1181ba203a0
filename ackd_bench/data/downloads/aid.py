"""AID: 10,000 Google Earth RGB aerial images, 30 classes, 600 x 600 px (Xia et al. 2017). Fetched by hand."""

from ackd_bench.data.downloads import DatasetEntry, register

ENTRY = register(
    DatasetEntry(
        name="aid",
        title="AID (Aerial Image Dataset)",
        version="AID.zip as distributed on the dataset page (no checksum published)",
        archive="AID.zip",
        urls=(),
        checksum=None,
        size_bytes=2_600_000_000,
        extracted_bytes=2_700_000_000,
        licence="no licence stated by the publisher; Google Earth imagery, research use only; cite the paper",
        citation="Xia, Hu, Hu, Shi, Bai, Zhong, Zhang, Lu. AID: A Benchmark Data Set for Performance Evaluation of Aerial "
        "Scene Classification. IEEE TGRS 55(7):3965-3981, 2017. doi:10.1109/TGRS.2017.2685945",
        homepage="https://captain-whu.github.io/AID/",
        layout="AID",
        classes=(
            "Airport",
            "BareLand",
            "BaseballField",
            "Beach",
            "Bridge",
            "Center",
            "Church",
            "Commercial",
            "DenseResidential",
            "Desert",
            "Farmland",
            "Forest",
            "Industrial",
            "Meadow",
            "MediumResidential",
            "Mountain",
            "Park",
            "Parking",
            "Playground",
            "Pond",
            "Port",
            "RailwayStation",
            "Resort",
            "River",
            "School",
            "SparseResidential",
            "Square",
            "Stadium",
            "StorageTanks",
            "Viaduct",
        ),
        source="imagefolder-rgb",
        contents="10,000 JPEGs, 30 classes (220-420 each), 600x600 px RGB, 0.5-8 m",
        manual="No stable direct link: download AID.zip from https://captain-whu.github.io/AID/ (OneDrive or Baidu Pan links "
        "on that page).",
        notes="no checksum is published: pass --sha256 of a copy you trust, or --unverified",
    )
)

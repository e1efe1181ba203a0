"""NaSC-TG2 (RGB): 20,000 Tiangong-2 natural-scene images, 10 classes x 2,000, 128 x 128 px (Zhou et al. 2021)."""

from ackd_bench.data.downloads import DatasetEntry, register
from ackd_bench.data.downloads.nasc_tg2_ms import NASC_TG2_CLASSES, NASC_TG2_FACTS

ENTRY = register(
    DatasetEntry(
        name="nasc-tg2-rgb",
        title="NaSC-TG2 (RGB)",
        version="NaSC-TG2 RGB archive as distributed by the authors (no checksum published)",
        archive="NaSC-TG2_RGB.zip",
        urls=(),
        checksum=None,
        size_bytes=300_000_000,
        extracted_bytes=320_000_000,
        **NASC_TG2_FACTS,
        layout="NaSC-TG2_RGB",
        classes=NASC_TG2_CLASSES,
        source="imagefolder-rgb",
        contents="20,000 images, 10 classes x 2,000 (beach, circularfarmland, cloud, desert, forest, mountain, "
        "rectangularfarmland, residential, river, snowberg), 128x128 px RGB, 100 m",
        manual="No stable direct link: request/download the RGB archive via the links on https://captain-whu.github.io/BED4RS/ "
        "(NaSC-TG2 entry) or from the Tiangong-2 data service named in the paper.",
        notes="the archive layout inside may differ: the source finds the class folders at any depth; no checksum is published: pass --sha256 or --unverified",
    )
)

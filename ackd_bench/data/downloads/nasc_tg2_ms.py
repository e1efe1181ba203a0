"""NaSC-TG2 (MS): the 14-band Tiangong-2 wide-band imaging spectrometer version of NaSC-TG2 (Zhou et al. 2021)."""

from ackd_bench.data.downloads import DatasetEntry, register

# The 14 VNIR bands of the Tiangong-2 Wide-band Imaging Spectrometer, in file order (0.40-1.04 um).
TG2_BANDS = tuple(f"W{i:02d}" for i in range(1, 15))

# Shared with the RGB entry (nasc_tg2_rgb.py): the same paper, licence terms, homepage and class list.
NASC_TG2_FACTS = {
    "licence": "no licence stated; Tiangong-2 data (China Manned Space Engineering), research use; cite the paper",
    "citation": "Zhou, Li, Wu, Guo, Li, Xia, Zhao. NaSC-TG2: Natural Scene Classification With Tiangong-2 Remotely "
    "Sensed Imagery. IEEE JSTARS 14:3228-3242, 2021. doi:10.1109/JSTARS.2021.3063096",
    "homepage": "https://captain-whu.github.io/BED4RS/",
}
NASC_TG2_CLASSES = (
    "beach",
    "circularfarmland",
    "cloud",
    "desert",
    "forest",
    "mountain",
    "rectangularfarmland",
    "residential",
    "river",
    "snowberg",
)

ENTRY = register(
    DatasetEntry(
        name="nasc-tg2-ms",
        title="NaSC-TG2 (14-band MS)",
        version="NaSC-TG2 multispectral archive as distributed by the authors (no checksum published)",
        archive="NaSC-TG2_MS.zip",
        urls=(),
        checksum=None,
        size_bytes=6_000_000_000,
        extracted_bytes=9_500_000_000,
        **NASC_TG2_FACTS,
        layout="NaSC-TG2_MS",
        classes=NASC_TG2_CLASSES,
        source="multiband-tif",
        source_options={"band_names": ",".join(TG2_BANDS)},
        contents="20,000 GeoTIFFs, 10 classes x 2,000, 128x128 px, 14 bands W01..W14 (0.40-1.04 um)",
        manual="No stable direct link: request/download the multispectral archive via the links on "
        "https://captain-whu.github.io/BED4RS/ (NaSC-TG2 entry) or from the Tiangong-2 data service named in the paper.",
        notes="the archive layout inside may differ: the source finds the class folders at any depth; no checksum is published: pass --sha256 or --unverified",
    )
)

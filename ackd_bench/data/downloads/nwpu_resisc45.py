"""NWPU-RESISC45: 31,500 Google Earth RGB images, 45 classes x 700, 256 x 256 px (Cheng et al. 2017)."""

from ackd_bench.data.downloads import DatasetEntry, register

ENTRY = register(DatasetEntry(
    name="nwpu-resisc45",
    title="NWPU-RESISC45",
    version="NWPU-RESISC45.zip as repacked by torchgeo (the publisher ships a .rar via OneDrive/Baidu)",
    archive="NWPU-RESISC45.zip",
    urls=(
        "https://hf.co/datasets/torchgeo/resisc45/resolve/a826b44d938a883185f11ebe3d512d38b464312f/NWPU-RESISC45.zip",
        "https://hf.co/datasets/isaaccorley/resisc45/resolve/883edc0eee77b2c84225472f10f126e3ed83fa6e/NWPU-RESISC45.zip",
    ),
    checksum="md5:75206b2e16446591afa88e2628744886",
    size_bytes=424_000_000,
    extracted_bytes=440_000_000,
    licence="no licence stated by the publisher; Google Earth imagery, research use; cite the paper",
    citation="Cheng, Han, Lu. Remote Sensing Image Scene Classification: Benchmark and State of the Art. Proceedings of "
             "the IEEE 105(10):1865-1883, 2017. doi:10.1109/JPROC.2017.2675998",
    homepage="https://gcheng-nwpu.github.io/#Datasets",
    layout="NWPU-RESISC45",
    classes=(
        "airplane", "airport", "baseball_diamond", "basketball_court", "beach", "bridge", "chaparral", "church",
        "circular_farmland", "cloud", "commercial_area", "dense_residential", "desert", "forest", "freeway",
        "golf_course", "ground_track_field", "harbor", "industrial_area", "intersection", "island", "lake", "meadow",
        "medium_residential", "mobile_home_park", "mountain", "overpass", "palace", "parking_lot", "railway",
        "railway_station", "rectangular_farmland", "river", "roundabout", "runway", "sea_ice", "ship", "snowberg",
        "sparse_residential", "stadium", "storage_tank", "tennis_court", "terrace", "thermal_power_station", "wetland",
    ),
    source="imagefolder-rgb",
    contents="31,500 JPEGs, 45 classes x 700, 256x256 px RGB, 0.2-30 m, >100 countries",
    notes="the publisher's own .rar: unpack it and build from the folder",
))

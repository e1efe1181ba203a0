"""UC Merced Land Use: 2,100 aerial RGB images (USGS National Map, ~0.3 m), 21 classes (Yang & Newsam 2010)."""

from ackd_bench.data.downloads import DatasetEntry, register

ENTRY = register(
    DatasetEntry(
        name="ucmerced",
        title="UC Merced Land Use",
        version="UCMerced_LandUse.zip (2010 release; md5 as pinned by torchgeo)",
        archive="UCMerced_LandUse.zip",
        urls=(
            "http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip",
            "https://hf.co/datasets/torchgeo/ucmerced/resolve/7c5ef3454d9b1cccfa7ccde0c01fc8f00a45909a/UCMerced_LandUse.zip",
        ),
        checksum="md5:5b7ec56793786b6dc8a908e8854ac0e4",
        size_bytes=332_500_000,
        extracted_bytes=420_000_000,
        licence="no licence stated by the publisher; imagery from the USGS National Map (public domain); cite the paper",
        citation="Yang, Newsam. Bag-of-visual-words and spatial extensions for land-use classification. ACM SIGSPATIAL GIS "
        "2010. doi:10.1145/1869790.1869829",
        homepage="http://weegee.vision.ucmerced.edu/datasets/landuse.html",
        layout="UCMerced_LandUse/Images",
        classes=(
            "agricultural",
            "airplane",
            "baseballdiamond",
            "beach",
            "buildings",
            "chaparral",
            "denseresidential",
            "forest",
            "freeway",
            "golfcourse",
            "harbor",
            "intersection",
            "mediumresidential",
            "mobilehomepark",
            "overpass",
            "parkinglot",
            "river",
            "runway",
            "sparseresidential",
            "storagetanks",
            "tenniscourt",
        ),
        source="imagefolder-rgb",
        contents="2,100 TIFFs, 21 classes x 100, 256x256 px RGB (a few are 247-256 px), USA",
    )
)

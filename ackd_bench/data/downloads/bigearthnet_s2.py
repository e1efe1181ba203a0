"""BigEarthNet-S2 v1.0: 590,326 Sentinel-2 patches (120 x 120 px at 10 m), multi-label CORINE 2018 (Sumbul et al. 2019)."""

from ackd_bench.data.downloads import DatasetEntry, register

ENTRY = register(DatasetEntry(
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
    classes=(
        "Continuous urban fabric", "Discontinuous urban fabric", "Industrial or commercial units",
        "Road and rail networks and associated land", "Port areas", "Airports", "Mineral extraction sites", "Dump sites",
        "Construction sites", "Green urban areas", "Sport and leisure facilities", "Non-irrigated arable land",
        "Permanently irrigated land", "Rice fields", "Vineyards", "Fruit trees and berry plantations", "Olive groves",
        "Pastures", "Annual crops associated with permanent crops", "Complex cultivation patterns",
        "Land principally occupied by agriculture, with significant areas of natural vegetation",
        "Agro-forestry areas", "Broad-leaved forest", "Coniferous forest", "Mixed forest", "Natural grassland",
        "Moors and heathland", "Sclerophyllous vegetation", "Transitional woodland/shrub", "Beaches, dunes, sands",
        "Bare rock", "Sparsely vegetated areas", "Burnt areas", "Inland marshes", "Peatbogs", "Salt marshes", "Salines",
        "Intertidal flats", "Water courses", "Water bodies", "Coastal lagoons", "Estuaries", "Sea and ocean",
    ),
    source="bigearthnet-s2",
    contents="590,326 patches from 125 tiles (10 European countries, 2017-2018), 12 bands (no B10) as per-band GeoTIFFs "
             "at 10/20/60 m, multi-label: 43 CORINE classes (19-class nomenclature derivable)",
    notes="each patch folder <patch>/ holds <patch>_B01.tif..B12.tif and <patch>_labels_metadata.json; the publisher lists patches under seasonal snow or cloud/shadow to exclude",
))

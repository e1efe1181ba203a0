"""`imagefolder-rgb`: any RGB scene-classification set laid out one folder per class.

Works for UC Merced (.tif), NWPU-RESISC45, AID, PatternNet, EuroSAT-RGB (.jpg) and .png sets, also
inside an extracted archive (the shallowest folder holding class folders is used). Images of any size
and mode are converted to RGB and resized to `size` x `size` with Pillow's bilinear filter, which
antialiases when shrinking (its support widens with the scale factor). No footprint; region = option
`region` or the root folder's name.
"""

from __future__ import annotations

import numpy as np

from ackd_bench.data.sources import SOURCES, RawSample, Source, sort_samples
from ackd_bench.data.sources._folders import class_files, find_class_root, rel_posix, sample_ids
from ackd_bench.errors import DataError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
RGB_NAMES: tuple[str, ...] = ("R", "G", "B")


def resize_rgb(rgb: np.ndarray, size: int) -> np.ndarray:
    """uint8 (3, H, W) -> (3, size, size), bilinear with antialiasing; unchanged when already that size."""
    if rgb.shape[1:] == (size, size):
        return rgb
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 2, 0)), mode="RGB")
    return load_rgb_image(img, size)


def load_rgb_image(img, size: int) -> np.ndarray:
    from PIL import Image

    img = img.convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy()


@SOURCES.register("imagefolder-rgb")
class ImageFolderRGB(Source):
    name = "imagefolder-rgb"
    modality = "rgb"
    defaults = {"region": None}

    def scan(self) -> list[RawSample]:
        from PIL import Image, UnidentifiedImageError

        root = find_class_root(self.root, IMAGE_EXTS)
        items = class_files(root, IMAGE_EXTS)
        region = str(self.options["region"] or self.root.resolve().name)
        samples = []
        for (cls, path), sid in zip(items, sample_ids(items)):
            try:
                with Image.open(path) as img:  # header only
                    w, h = img.size
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise DataError(f"unreadable image ({exc.__class__.__name__})", path) from None
            samples.append(
                RawSample(
                    sample_id=sid,
                    class_name=cls,
                    path=rel_posix(path, self.root),
                    source=self.name,
                    region=region,
                    height=self.size,
                    width=self.size,
                    bands=RGB_NAMES,
                    extra={"orig_height": h, "orig_width": w},
                )
            )
        return sort_samples(samples)

    def read(self, sample: RawSample) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        path = self.root / sample.path
        try:
            with Image.open(path) as img:
                img.load()
                return load_rgb_image(img, self.size)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DataError(f"unreadable image ({' '.join(str(exc).split())[:120]})", path) from None

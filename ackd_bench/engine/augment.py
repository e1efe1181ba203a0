"""Training-time augmentation of image batches already on the device.

`dihedral`: each image under one of the 8 symmetries of a square tile (4 rotations by 90 degrees, each with or
without a transpose). Valid for nadir imagery, whose class does not depend on orientation. The symmetry of every
train image is drawn once per epoch from a seeded generator and looked up by the image's index in its pool,
so it does not depend on batch order or on how batches are sharded over ranks (exact resume, torchrun = one
process). Frozen-teacher outputs are cached on un-augmented tiles; a student's augmentation never reaches
the teacher, whose input is the partner MS tile, not the student image.
"""

from __future__ import annotations

from typing import Callable

import torch

AUGMENTS = ("none", "dihedral")
Augment = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def dihedral(x: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) images under symmetries `codes` (N ints in 0..7: bit 2 = transpose, bits 0-1 = quarter turns).

    Code 0 is the identity. Non-square images take only the symmetries that keep their shape (codes 0 and 2).
    """
    if x.shape[-1] != x.shape[-2]:
        codes = torch.where(codes % 2 == 0, codes & 2, torch.zeros_like(codes))
    out = x.clone()
    codes = codes.to(x.device)
    for code in torch.unique(codes).tolist():
        if code == 0:
            continue
        sel = (codes == code).nonzero().squeeze(1)
        part = x[sel]
        if code & 4:
            part = part.transpose(-1, -2)
        out[sel] = torch.rot90(part, code & 3, dims=(-2, -1))
    return out


def epoch_augment(name: str, n_images: int, gen: torch.Generator) -> Augment | None:
    """The augmentation of one epoch over a pool of `n_images`: fn(batch, pool_indices) -> batch, or None."""
    if name == "none":
        return None
    if name != "dihedral":
        raise ValueError(f"unknown augmentation {name!r} (known: {', '.join(AUGMENTS)})")
    codes = torch.randint(0, 8, (n_images,), generator=gen)
    return lambda x, idx: dihedral(x, codes[idx.cpu()])

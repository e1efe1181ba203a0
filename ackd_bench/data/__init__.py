"""Curation: band metadata, raw sources, manifests, splits, packing and torch datasets."""

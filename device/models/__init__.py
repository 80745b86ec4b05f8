"""MoveNet model files: the manifest, checksum verification, `models fetch` and `models convert`."""

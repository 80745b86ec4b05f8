"""Frames in, smoothed poses out: crop tracking, MoveNet and One Euro smoothing in one object."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from device.capture.frame import Frame
from device.models.manifest import MODELS_DIR
from device.pose.failover import FailoverModel
from device.pose.keypoints import Pose
from device.pose.loader import open_model
from device.pose.movenet import (
    MIN_POSE_SCORE,
    CropTracker,
    crop_and_resize,
    full_image_region,
    pose_score,
)
from device.pose.movenet import to_image_coordinates as crop_to_image
from device.pose.runtime import EDGETPU_LIBRARY, Backend, PoseModel
from device.pose.smoothing import OneEuroFilter


class PosePipeline:
    """One person's pose per frame, as the TF.js MoveNet detector produces it.

    The returned Pose always has its keypoints, even when nobody is there: a pose score below
    MIN_POSE_SCORE (0.25) means the person is lost, and then the crop and the smoothing restart
    so that the next person is found on the whole image and not dragged from the old position.
    """

    def __init__(
        self, model: PoseModel | FailoverModel, smoothing: bool = True, cropping: bool = True
    ) -> None:
        self.model = model
        self.smoothing = smoothing
        self.cropping = cropping
        self._crop = CropTracker()
        self._filter = OneEuroFilter()

    @classmethod
    def create(
        cls,
        model: str = "lightning",
        accelerator: str = "auto",
        threads: int | None = None,
        smoothing: bool = True,
        models_dir: Path = MODELS_DIR,
        precision: str = "auto",
        edgetpu_library: str = EDGETPU_LIBRARY,
        cache_dir: Path | None = None,
    ) -> PosePipeline:
        """The pipeline on the model loader.open_model picks for these settings."""
        return cls(
            open_model(
                model, accelerator, threads, models_dir, precision, edgetpu_library, cache_dir
            ),
            smoothing=smoothing,
        )

    @property
    def backend(self) -> Backend:
        return self.model.backend

    def close(self) -> None:
        """Release the Edge TPU, if the model runs on one (its calls run on a thread)."""
        if isinstance(self.model, FailoverModel):
            self.model.close()

    def reset(self) -> None:
        """Forget the previous frames (a new video, or the camera restarted)."""
        self._crop.reset()
        self._filter.reset()

    def process(self, frame: Frame) -> Pose:
        image = frame.image
        height, width = image.shape[:2]
        if self.cropping:
            region = self._crop.region(width, height)
        else:
            region = full_image_region(width, height)
        raw = self.model(crop_and_resize(image, region, self.model.input_size))
        keypoints = crop_to_image(raw, region)  # (17, 3): y, x normalised, score
        score = pose_score(keypoints)
        if score < MIN_POSE_SCORE:
            self.reset()
        else:
            if self.smoothing:
                keypoints[:, :2] = self._filter(keypoints[:, :2], frame.t)
            if self.cropping:
                self._crop.update(keypoints, width, height)
        pixels = np.empty_like(keypoints)
        pixels[:, 0] = keypoints[:, 1] * width
        pixels[:, 1] = keypoints[:, 0] * height
        pixels[:, 2] = keypoints[:, 2]
        return Pose(pixels, score, frame.t, (width, height))

"""Pose engine: MoveNet on LiteRT, crop tracking and One Euro smoothing."""

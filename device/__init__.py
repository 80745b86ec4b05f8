"""RepCounter: the appliance (capture, pose, exercise, workout history, daemon)."""

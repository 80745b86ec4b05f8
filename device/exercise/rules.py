"""Every threshold of the exercise engine, with what it means and where its value comes from.

Lengths are in body units, never pixels: squat heights are divided by the leg length (thigh + shin)
and push-up heights by the arm length (upper arm + forearm), each the 90th percentile of the 2D
segment lengths seen over the last seconds (a segment is never longer than its true length in a
picture, and it is seen at full length whenever it lies across the camera). So the distance to
the camera and the person's size cancel out.

The values were chosen from anatomy and the geometry of the two movements (worked out in
docs/exercise.md), rounded, and then checked on the development half of the clips; none was
fitted to a clip.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


def require_below(
    model: BaseModel, pairs: Iterable[tuple[str, str]], or_equal: bool = False
) -> None:
    """For each (low, high) field pair, low < high (or <=); else a "cross_field" error whose
    context names the field (device.daemon.config reports it as that field)."""
    for low, high in pairs:
        value = getattr(model, high)
        if not (getattr(model, low) <= value if or_equal else getattr(model, low) < value):
            raise PydanticCustomError(
                "cross_field",
                "must be at most {other} ({value})"
                if or_equal
                else "must be less than {other} ({value})",
                {"field": low, "other": high, "value": value},
            )


class ExerciseRules(BaseModel):
    """Thresholds for pose quality, rep counting, exercise recognition, form cues and placement.

    Strict types (no "0.5" or true for a number), a range for every field and the order of
    related fields are checked, so no saved value can stop the counting."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    # --- pose quality -------------------------------------------------------------------------
    min_keypoint_score: float = Field(
        0.2,
        ge=0.0,
        le=1.0,
        description="A keypoint scored below this is missing (never used as a position). 0.2 is "
        "the minimum keypoint score of Google's TF.js MoveNet detector.",
    )
    min_pose_score: float = Field(
        0.25,
        ge=0.0,
        le=1.0,
        description="Below this pose score nobody is in view. 0.25 is TF.js MoveNet's minimum "
        "pose score, also used by the pose pipeline to drop the person.",
    )
    max_gap_s: float = Field(
        1.0,
        gt=0.0,
        le=10.0,
        description="Seconds a measurement may be missing (person lost, joints hidden) before a "
        "rep in progress is abandoned, so stepping out of view never completes a rep. About one "
        "third of the shortest controlled rep (~3 s).",
    )
    scale_window_s: float = Field(
        10.0,
        gt=0.0,
        le=120.0,
        description="Seconds of history for the body size (90th percentile of each 2D segment "
        "length): long enough to include a moment where each limb lies across the camera.",
    )
    min_fps: float = Field(
        8.0,
        gt=0.0,
        le=60.0,
        description="Processed frames per second under which the health page warns that "
        "counting may miss fast reps (after 5 s). Counting is checked on the clips down to 6 fps; "
        "a fast 1 s rep has fewer than 8 frames below this rate.",
    )

    # --- rep counting (shared) ----------------------------------------------------------------
    glitch_filter_s: float = Field(
        0.15,
        ge=0.0,
        le=2.0,
        description="The height is the median over this many seconds (about 5 frames at 30 fps) "
        "so a keypoint that jumps for a frame or two does not open or close a rep. Below about "
        "7 fps it holds one frame: a one-frame jump there is shorter than a rep may be (see "
        "min_rep_s), and a wider median would flatten the bottom of a fast rep.",
    )
    top_window_s: float = Field(
        2.0,
        gt=0.0,
        le=30.0,
        description="The top level is the highest point of this many seconds at rest, so it "
        "follows the person (a new stance, a new set) without needing a calibration.",
    )
    start_drop: float = Field(
        0.08,
        gt=0.0,
        le=1.0,
        description="Drop below the top level (body units) that opens a rep: well above the "
        "keypoint jitter of a still person (about 0.02) and below any real rep.",
    )
    return_fraction: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description="A rep is back up once the height has recovered this share of its way down: "
        "past the midpoint the person is nearer the top than the bottom. The next rep may start "
        "from there (a set without full lockouts still counts; the lockout cue says so).",
    )
    end_fraction: float = Field(
        0.8,
        gt=0.0,
        le=1.0,
        description="Where a rep is cut (the first rep after the start or after the person was "
        "lost; a rep open when the video ends or the person leaves) it counts only if this "
        "share of its whole path down and up was seen: most of the way, as the clips' truth "
        "defines a rep cut by a clip's edge that may be counted.",
    )
    settle_s: float = Field(
        0.3,
        gt=0.0,
        le=5.0,
        description="Seconds without a new highest point after the return before a rep is "
        "closed; the rep's end time is that highest point (lockout is judged there).",
    )
    min_rep_s: float = Field(
        0.3,
        gt=0.0,
        le=30.0,
        description="Shortest rep, from its start to its top: speed push-ups (a contest, in the "
        "labelled form clips) take 0.3-0.5 s; a dip shorter than 0.3 s is a keypoint glitch, "
        "not a rep. A rep also needs three heights below its opening level: one wrong frame "
        "gives at most two at any frame rate (the glitch median cannot remove it below about "
        "7 fps).",
    )
    max_rep_s: float = Field(
        20.0,
        gt=0.0,
        le=120.0,
        description="Longest rep, pauses included: sitting down on a chair and getting up later "
        "is not a squat.",
    )
    count_depth: float = Field(
        0.5,
        gt=0.0,
        le=3.0,
        description="Share of the target depth (hips to knee height; elbows at 90 degrees) a rep "
        "must reach to count; shallower reps are partial reps. Half the hip drop is a half squat "
        "(knees at about 100 degrees); half the shoulder drop, elbows at about 120 degrees.",
    )
    relative_depth: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="A rep with less than this share of the person's own typical range of motion "
        "(median of their last complete reps) is a partial rep: a half rep in a set of full ones.",
    )
    planted_tolerance: float = Field(
        0.5,
        gt=0.0,
        le=5.0,
        description="How far (body units) the feet (squat) or hands (push-up) may wander during "
        "a rep, as the 80th percentile of their distance from their median position: they stay "
        "planted. A joint carried steadily over a distance D scores 0.4 D; walking covers about "
        "1.5 leg lengths in the second a rep takes, which scores 0.6, so people walking through "
        "never make a rep. Planted joints score under 0.2, up to 0.4 where keypoints drift.",
    )

    # --- squat --------------------------------------------------------------------------------
    squat_min_rom: float = Field(
        0.15,
        gt=0.0,
        le=1.0,
        description="Smallest hip drop (leg lengths) that is a squat attempt at all; smaller "
        "dips are ignored. A quarter squat drops the hips about 0.15 leg lengths; the hip bob "
        "of walking is about 0.03.",
    )
    squat_lean_deg: float = Field(
        55.0,
        gt=0.0,
        lt=90.0,
        description="Torso angle from vertical at the bottom above which the cue 'keep your "
        "chest up' is given (side view only). Back squats lean 30-50 degrees at parallel (low "
        "bar up to about 50); more means the hips shoot back.",
    )
    squat_knee_ratio: float = Field(
        0.8,
        gt=0.0,
        le=3.0,
        description="Knee distance / ankle distance at the bottom below which the knees cave in "
        "(front view only). Knees tracking over the toes keep the ratio at 1 or more.",
    )
    squat_lockout_deg: float = Field(
        135.0,
        gt=90.0,
        le=180.0,
        description="Best knee angle on the way up and at the top below which the cue 'stand "
        "up fully' is given (side view only; from the front a bent knee still looks straight). "
        "Acceptable reps of the squat clips read 144-180 degrees in 2D with either model "
        "(docs/exercise.md); 135 is a clear bend below all of them.",
    )
    squat_depth_cue: float = Field(
        0.55,
        gt=0.0,
        le=3.0,
        description="Depth (share of the drop to hips at knee height) below which 'go deeper' "
        "is given. The 2D hip keypoint is the hip joint, a little above the knee joint when the "
        "hip crease reaches parallel: acceptable reps of the squat clips read 0.65-1.98, median "
        "0.86, with either model (docs/exercise.md). 0.55 sits 0.1 below the shallowest of them; "
        "a half squat reads about 0.45.",
    )
    depth_tolerance: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="Depth shortfall tolerated before 'go lower' (push-ups): keypoints are "
        "a few centimetres uncertain, about 0.1 of the target drop.",
    )

    # --- push-up ------------------------------------------------------------------------------
    pushup_min_rom: float = Field(
        0.15,
        gt=0.0,
        le=1.0,
        description="Smallest shoulder drop (arm lengths) that is a push-up attempt at all. "
        "Bending the elbows to 90 degrees drops the shoulders about 0.45 arm lengths.",
    )
    pushup_hip_deg: float = Field(
        11.0,
        gt=0.0,
        lt=90.0,
        description="Bend of the body line (shoulder-hip-ankle; shoulder-hip-knee on the knees) "
        "beyond which the hips sag, as the bend held for a fifth of the rep (its 80th "
        "percentile; side view only). On the labelled clips (docs/exercise.md) correct "
        "side-view reps read -11 to +8 degrees with both models, here and as a Pi 4; sagging "
        "reps' lower quartile is 15-17: 11 is between the correct reps' edge and it.",
    )
    pushup_sag_severe_deg: float = Field(
        20.0,
        gt=0.0,
        lt=90.0,
        description="A sag beyond this bend (same measure as pushup_hip_deg) is severe: its cue "
        "is shown on the first rep instead of when it repeats (2 of the last 3 reps). Correct "
        "side-view reps read at most 8 degrees; 20 is more than twice that, near the sagging "
        "reps' upper quartile (21-24), where the lower back carries the load.",
    )
    pushup_pike_deg: float = Field(
        16.0,
        gt=0.0,
        lt=90.0,
        description="Upward bend of the body line beyond which the hips pike, as the bend held "
        "for a quarter of the phase from the bottom to halfway back up (its 25th percentile; side "
        "view only). Correct side-view reps read down to -12 degrees (MoveNet's hip sits a "
        "little high on a straight body), most reps with the hips left high -26 to -33: 16 is "
        "midway between the correct reps' edge and the piked reps' upper quartile (-20).",
    )
    pushup_head_deg: float = Field(
        55.0,
        gt=0.0,
        lt=180.0,
        description="How far the ear hangs below the body line (ankle, or knee on the knees, to "
        "shoulder, extended), degrees, as its median over the rep, before the cue 'keep your "
        "head in line' (side view only). The ear sits above the neck's axis and people look "
        "ahead or down: correct side-view reps read -16 to +42 degrees in 2D with both models, "
        "here and as a Pi 4.",
    )
    pushup_lockout_deg: float = Field(
        135.0,
        gt=90.0,
        le=180.0,
        description="Best elbow angle on the way up and at the top below which the cue 'lock "
        "out your arms' is given (side view only). Locked arms of correct reps measure 157-180 "
        "degrees in 2D, 144-180 with the float16 model (keypoints sit off the joint centres, the "
        "arm is seen a little obliquely); 135 is a clear bend below all of them.",
    )
    knee_pushup_deg: float = Field(
        130.0,
        gt=90.0,
        lt=180.0,
        description="Knee angle (hip-knee-ankle, median over the rep) below which a push-up is "
        "done on the knees and its body line is judged from shoulder to knee. Straight legs of "
        "side-view push-ups measure 150-180 degrees in 2D; on the knees the shin folds up or "
        "back, 50-120.",
    )
    feet_raised_arms: float = Field(
        0.8,
        gt=0.0,
        description="Ankles this many arm lengths above the hands (median over the rep) make a "
        "feet-raised push-up (feet on a box or a wall). Feet on the floor read 0.1-0.4 from the "
        "side (the foot's height), up to 0.7 at three quarters; feet on a 40 cm box read "
        "about 0.8.",
    )

    # --- recognition, view and placement ------------------------------------------------------
    upright_deg: float = Field(
        45.0,
        gt=0.0,
        lt=90.0,
        description="A body line (shoulders to ankles) within this angle of vertical is upright "
        "(standing, squatting: the shoulders stay over the feet for balance).",
    )
    prone_deg: float = Field(
        55.0,
        gt=0.0,
        lt=90.0,
        description="A body line more than this angle from vertical is lying (a plank is 70-90 "
        "degrees from vertical).",
    )
    posture_s: float = Field(
        0.5,
        gt=0.0,
        le=10.0,
        description="Seconds a new posture must hold before the engine switches exercise.",
    )
    shoulder_torso_ratio: float = Field(
        0.7,
        gt=0.0,
        le=3.0,
        description="Shoulder width / torso length of a body seen face-on (shoulder joints about "
        "0.20 and shoulder-to-hip about 0.29 of body height, Drillis and Contini). The measured "
        "ratio against it gives the camera's angle around the body.",
    )
    body_arm_ratio: float = Field(
        1.61,
        gt=0.0,
        description="Shoulder-to-knee distance / arm length (shoulder to wrist) of a body seen "
        "from the side: 0.533 / 0.332 of body height (Drillis and Contini). Lying, the arms "
        "stand vertical and keep their length in any view while the body shortens as the "
        "camera turns towards the head; a shorter ratio marks a three-quarter view. Measured on "
        "side-view push-up clips: 1.4-1.9, median 1.6.",
    )
    side_view_deg: float = Field(
        40.0,
        gt=0.0,
        lt=90.0,
        description="Camera within this angle of the person's profile is a side view (the view "
        "that shows knee, hip, elbow angles and the body line truthfully).",
    )
    front_view_deg: float = Field(
        60.0,
        gt=0.0,
        lt=90.0,
        description="Camera more than this angle from the profile (within 30 degrees of face-on "
        "or head-on) is a front view; in between is a three-quarter view.",
    )
    view_window_s: float = Field(
        1.0,
        gt=0.0,
        le=10.0,
        description="Seconds over which the view is judged (median), so one odd frame does not "
        "switch cues on or off.",
    )
    placement_s: float = Field(
        1.0,
        gt=0.0,
        le=30.0,
        description="Seconds a placement problem (or a view hint, or a change of the placement "
        "page's checks) must last before it is shown.",
    )
    advice_hold_s: float = Field(
        3.0,
        ge=0.0,
        le=60.0,
        description="Seconds a placement advice or view hint stays at least once shown, so a "
        "view near the line between two views cannot make the wording flip every second or two.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ExerciseRules:
        require_below(
            self,
            (
                ("min_rep_s", "max_rep_s"),  # else no rep can count
                ("glitch_filter_s", "min_rep_s"),  # the median would flatten every rep
                ("settle_s", "max_rep_s"),  # a rep closes only after settle_s
                ("upright_deg", "prone_deg"),  # a body line cannot be both
                ("side_view_deg", "front_view_deg"),  # a view cannot be both
                ("pushup_hip_deg", "pushup_sag_severe_deg"),  # severe is past the line
            ),
        )
        return self

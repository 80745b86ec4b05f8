"""`repcounter eval-form`: count every clip of a form label table and score the cues.

A form label table (../shared/data/form/labels.tsv) is tab-separated with the columns file,
label (correct or wrong), view (side, angled, front), fault and optionally exercise (default
pushup). Two figures are reported:

- per view: the share of correct clips with at least one counted rep that got any form cue
  (a false cue: the person did nothing wrong);
- per fault: the share of clips with that fault where the matching cue was given (FAULT_CUES);
- the same two for the cues the phone would show, each clip's reps taken as one set through the
  cue policy (device/exercise/coaching.py: a fault on 2 of the last 3 reps, or a severe one);
  faults without a cue of their own (variation, unclear, ...) are listed with the share of clips
  that got any cue, for reading, not as a score.
Cues of partial reps count too: the phone shows them.

A counting truth table (../shared/data/clips/truth.tsv: columns file, exercise, reps) is read as
form labels too: its README says every squat rep in it is acceptable form, so its squat rows
are correct clips (exercise squat, the table's view); its push-up rows carry no form verdict and
are left out. For correct clips the summary also gives, per exercise, the share of reps (complete
and partial) with any cue and with each cue: a squat clip holds several reps, and the goal for
them is set per rep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from device.errors import SourceError
from device.exercise.coaching import CuePolicy
from device.exercise.counting import CountResult
from device.exercise.evaluation import read_table

LABEL_COLUMNS = ("file", "label", "view", "fault")
TRUTH_COLUMNS = ("file", "exercise", "reps")
CORRECT = "correct"
DEFAULT_EXERCISE = "pushup"
ACCEPTABLE_IN_TRUTH = ("squat",)  # exercises whose reps a truth table vouches for as good form

# fault label -> the cue that names it, per exercise
FAULT_CUES: dict[str, dict[str, str]] = {
    "pushup": {
        "sag": "hips_sagging",
        "pike": "hips_piking",
        "head-drop": "head_down",
        "shallow": "go_lower",
        "lockout": "lock_out",
    },
    "squat": {
        "depth": "go_deeper",
        "lean": "chest_up",
        "knees-in": "knees_out",
        "lockout": "stand_up_fully",
    },
}


@dataclass(frozen=True)
class FormLabel:
    file: str
    label: str
    view: str
    fault: str
    exercise: str


@dataclass(frozen=True)
class FormClip:
    """One clip's labels and what the engine made of it."""

    truth: FormLabel
    result: CountResult
    seconds: float

    @property
    def reps(self) -> int:
        return self.result.count(self.truth.exercise)

    @property
    def cue_codes(self) -> set[str]:
        return {c.code for rep in self.result.reps for c in rep.cues}

    @property
    def expected_cue(self) -> str | None:
        return FAULT_CUES.get(self.truth.exercise, {}).get(self.truth.fault)

    @property
    def shown_codes(self) -> set[str]:
        """The cues the phone would show for the clip's reps as one set (the cue policy)."""
        policy = CuePolicy()
        shown = [policy.rep(rep, n).cue for n, rep in enumerate(self.result.reps, start=1)]
        return {c.code for c in shown if c is not None}

    @property
    def false_cue(self) -> bool:
        """A correct clip with counted reps that got any form cue."""
        return self.truth.label == CORRECT and self.reps > 0 and bool(self.cue_codes)

    @property
    def caught(self) -> bool:
        return self.expected_cue in self.cue_codes


@dataclass(frozen=True)
class Share:
    """`hits` of `clips` (e.g. correct side-view clips with a false cue)."""

    group: str
    hits: int
    clips: int

    @property
    def rate(self) -> float:
        return self.hits / self.clips if self.clips else 0.0

    def line(self) -> str:
        return f"{self.group:28s} {self.hits:3d} / {self.clips:3d}  {self.rate:6.1%}"


@dataclass(frozen=True)
class FormSummary:
    false_cues: list[Share]  # per exercise and view: correct clips with any cue
    faults: list[Share]  # per exercise and fault with a cue: clips where it was given
    other: list[Share]  # per exercise and fault without a cue: clips with any cue
    no_reps: list[str]  # clips where nothing was counted
    rep_cues: list[Share] = field(default_factory=list)  # per exercise: correct reps with cues
    shown_false: list[Share] = field(default_factory=list)  # as false_cues, cues the phone shows
    shown_faults: list[Share] = field(default_factory=list)  # as faults, cues the phone shows

    def lines(self) -> list[str]:
        out = ["correct clips (with reps) that got any cue, per view:"]
        out += ["  " + s.line() for s in self.false_cues]
        if self.rep_cues:
            out += ["reps of correct clips with a cue (any, then each cue), per exercise:"]
            out += ["  " + s.line() for s in self.rep_cues]
        out += ["faulty clips where the matching cue was given, per fault:"]
        out += ["  " + s.line() for s in self.faults]
        if self.other:
            out += ["other labels, clips that got any cue (no matching cue exists):"]
            out += ["  " + s.line() for s in self.other]
        if self.shown_false or self.shown_faults:
            out += [
                "shown on the phone (cue policy: 2 of the last 3 reps, or severe): correct clips "
                "with a cue per view, faulty clips with the matching cue per fault:"
            ]
            out += ["  " + s.line() for s in self.shown_false]
            out += ["  " + s.line() for s in self.shown_faults]
        out.append(f"clips with no rep counted: {len(self.no_reps)} {' '.join(self.no_reps)}")
        return out


def is_truth_table(path: Path) -> bool:
    """A counting truth table (has a reps column) rather than a form label table."""
    if not path.is_file():
        return False
    with path.open(newline="") as f:
        header = f.readline().rstrip("\r\n").split("\t")
    return "reps" in header and "label" not in header


def load_labels(path: Path) -> list[FormLabel]:
    """The rows of a form label table, or the acceptable-form rows of a counting truth table."""
    if is_truth_table(path):
        return load_truth_as_labels(path)
    rows = []
    for line, row in read_table(path, LABEL_COLUMNS, "a form label table", "../shared/data/form"):
        exercise = (row.get("exercise") or DEFAULT_EXERCISE).strip()
        if exercise not in FAULT_CUES:
            raise SourceError(
                f"{path} line {line}: exercise must be one of {', '.join(FAULT_CUES)}, "
                f"not {exercise!r}."
            )
        rows.append(FormLabel(row["file"], row["label"], row["view"], row["fault"], exercise))
    if not rows:
        raise SourceError(f"{path} lists no clips.")
    return rows


def load_truth_as_labels(path: Path) -> list[FormLabel]:
    """The squat rows of a counting truth table as correct clips (see the module docstring)."""
    rows = [
        FormLabel(row["file"], CORRECT, row.get("view") or "", "none", row["exercise"])
        for _, row in read_table(path, TRUTH_COLUMNS, "a truth table", "../shared/data/clips")
        if row["exercise"] in ACCEPTABLE_IN_TRUTH
    ]
    if not rows:
        raise SourceError(f"{path} lists no {' or '.join(ACCEPTABLE_IN_TRUTH)} clips.")
    return rows


def rep_cue_shares(clips: list[FormClip]) -> list[Share]:
    """Per exercise, of the reps of correct clips: those with any cue, then with each cue."""
    out = []
    for exercise in sorted({c.truth.exercise for c in clips}):
        reps = [
            {cue.code for cue in rep.cues}
            for c in clips
            if c.truth.exercise == exercise and c.truth.label == CORRECT
            for rep in c.result.reps
            if rep.exercise == exercise
        ]
        if not reps:
            continue
        out.append(Share(f"{exercise} any cue", sum(bool(r) for r in reps), len(reps)))
        for code in sorted(set().union(*reps)):
            out.append(Share(f"{exercise} {code}", sum(code in r for r in reps), len(reps)))
    return out


def _share(group: str, clips: list[FormClip], hit: Callable[[FormClip], bool]) -> Share:
    return Share(group, sum(hit(c) for c in clips), len(clips))


def summarise(clips: list[FormClip]) -> FormSummary:
    def groups(select: Callable[[FormClip], bool], key: Callable[[FormClip], str]) -> dict:
        out: dict[str, list[FormClip]] = {}
        for clip in clips:
            if select(clip):
                out.setdefault(f"{clip.truth.exercise} {key(clip)}", []).append(clip)
        return dict(sorted(out.items()))

    correct = groups(lambda c: c.truth.label == CORRECT and c.reps > 0, lambda c: c.truth.view)
    faults = groups(lambda c: c.expected_cue is not None, lambda c: c.truth.fault)
    other = groups(
        lambda c: c.truth.label != CORRECT and c.expected_cue is None, lambda c: c.truth.fault
    )
    return FormSummary(
        false_cues=[_share(k, v, lambda c: c.false_cue) for k, v in correct.items()],
        faults=[_share(k, v, lambda c: c.caught) for k, v in faults.items()],
        other=[_share(k, v, lambda c: bool(c.cue_codes)) for k, v in other.items()],
        no_reps=[c.truth.file for c in clips if c.reps == 0],
        rep_cues=rep_cue_shares(clips),
        shown_false=[
            _share(f"{k}: false cue", v, lambda c: bool(c.shown_codes)) for k, v in correct.items()
        ],
        shown_faults=[
            _share(f"{k}: caught", v, lambda c: c.expected_cue in c.shown_codes)
            for k, v in faults.items()
        ],
    )


def evaluate_form(
    labels_path: Path,
    count: Callable[[Path, str], CountResult],
    progress: Callable[[FormClip], None] | None = None,
    only: Callable[[str], bool] | None = None,
) -> tuple[list[FormClip], FormSummary]:
    """Count each labelled clip (files beside the table; those `only` accepts) with its exercise
    pinned, and score."""
    rows = [r for r in load_labels(labels_path) if only is None or only(r.file)]
    missing = [r.file for r in rows if not (labels_path.parent / r.file).is_file()]
    if missing:
        raise SourceError(f"clips listed in {labels_path} are missing: {', '.join(missing)}.")
    clips = []
    for row in rows:
        start = time.perf_counter()
        result = count(labels_path.parent / row.file, row.exercise)
        clip = FormClip(row, result, time.perf_counter() - start)
        clips.append(clip)
        if progress is not None:
            progress(clip)
    return clips, summarise(clips)

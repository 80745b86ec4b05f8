// History charts drawn by uPlot (vendored in static/vendor/uplot, MIT): grouped bars of reps
// per day or week, each rep's depth over time, and the weekly trend of reps and depth. The x axes are dates, never clock hours:
// the bar chart has one slot per day (or week) and labels its ticks with the day of the month,
// the month under the first tick and wherever it changes. Touching or hovering a chart writes
// its values in the readout line under it (the legend is a plain colour key).

export const EXERCISES = {
  squat: { label: "Squats", color: "#0b5cad" },
  pushup: { label: "Push-ups", color: "#b3470b" },
};
const AXIS = { stroke: "#1a1a1a", grid: { stroke: "#d9d9d9", width: 1 }, ticks: { stroke: "#bdbdbd" } };
const FONT = "14px system-ui, sans-serif";
const MONTH = (d) => d.toLocaleDateString(undefined, { month: "short" });
const WEEKDAY = (d) => d.toLocaleDateString(undefined, { weekday: "short" });

function sized(element, options) {
  const width = Math.max(200, element.clientWidth);
  return { width, height: Math.round(Math.min(280, Math.max(200, width * 0.5))), ...options };
}

function mount(element, options, data, readout) {
  element.replaceChildren();
  const chart = new window.uPlot(sized(element, options), data, element);
  element.chart = chart; // for the browser tests: uPlot's valToPos, bbox and data
  new ResizeObserver(() => {
    const { width, height } = sized(element, {});
    if (width !== chart.width) chart.setSize({ width, height });
  }).observe(element);
  if (readout) readout.textContent = "";
  return chart;
}

/** Fills `readout` with describe(index) while the cursor (a finger or the mouse) is on a point. */
function readoutHook(readout, describe) {
  return (u) => {
    if (!readout) return;
    const index = u.cursor.idx;
    readout.textContent = index === null || index === undefined ? "" : describe(index);
  };
}

/**
 * Date tick labels for slots: the day of the month (with the weekday when there is room), and
 * on a second line the month, under the first tick and wherever the month changes.
 */
function dateTicks(dates, period) {
  return (u, splits, axisIdx, foundSpace, foundIncr) => {
    const slotPx = u.bbox.width / devicePixelRatio / Math.max(1, dates.length);
    const roomy = period === "day" && slotPx * foundIncr >= 58;
    let lastMonth = null;
    const values = splits.map((i) => {
      const d = dates[i];
      if (!d) return "";
      const month = MONTH(d);
      const line2 = month !== lastMonth ? month : "";
      lastMonth = month;
      return `${roomy ? `${WEEKDAY(d)} ` : ""}${d.getDate()}\n${line2}`;
    });
    u.root.dataset.ticks = JSON.stringify(splits.map((i, k) => [i, values[k]])); // for the tests
    return values;
  };
}

/** Tick positions counted back from the newest slot, so today (or this week) is always labelled. */
function fromNewest(count) {
  return (u, axisIdx, min, max, incr) => {
    const splits = [];
    for (let i = count - 1; i >= 0; i -= incr) splits.unshift(i);
    return splits;
  };
}

/**
 * Grouped bars, one slot per day or week. dates: the first day of each slot; labels: each
 * slot's full name (for the readout); groups: {exercise: [complete reps per slot]}.
 */
export function barChart(element, { dates, labels, groups, period, readout }) {
  const names = Object.keys(groups);
  const width = 0.8 / names.length;
  const series = names.map((name, i) => ({
    label: EXERCISES[name]?.label ?? name,
    fill: EXERCISES[name]?.color ?? "#555",
    stroke: EXERCISES[name]?.color ?? "#555",
    width: 0,
    paths: window.uPlot.paths.bars({ size: [width, 48], align: names.length === 1 ? 0 : i === 0 ? -1 : 1 }),
    points: { show: false },
  }));
  const describe = (i) =>
    `${labels[i]}: ${names.map((name) => `${groups[name][i]} ${(EXERCISES[name]?.label ?? name).toLowerCase()}`).join(", ")}`;
  return mount(
    element,
    {
      scales: { x: { time: false, range: () => [-0.5, dates.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(5, max * 1.1)] } },
      axes: [
        {
          ...AXIS,
          font: FONT,
          size: 56,
          space: 28,
          incrs: period === "day" ? [1, 2, 7] : [1, 2, 4],
          splits: fromNewest(dates.length),
          values: dateTicks(dates, period),
        },
        { ...AXIS, font: FONT, size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
      ],
      series: [{ label: period === "day" ? "Day" : "Week" }, ...series],
      legend: { live: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      hooks: { setCursor: [readoutHook(readout, describe)] },
    },
    [dates.map((_, i) => i), ...names.map((name) => groups[name])],
    readout,
  );
}

/** Time labels in the phone's own format: dates when the span is days, else hours. */
function timeTicks(u, splits) {
  const span = (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0);
  let lastDay = null;
  return splits.map((t) => {
    const d = new Date(t * 1000);
    const day = d.toLocaleDateString(undefined, { day: "numeric", month: "short" });
    if (span > 2 * 86400) return day;
    const clock = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    const line2 = day !== lastDay ? day : "";
    lastDay = day;
    return `${clock}\n${line2}`;
  });
}

/** Each rep's depth (1.0 = the target depth) against its end time, one colour per exercise. */
export function depthChart(element, reps, readout) {
  const sorted = [...reps].sort((a, b) => a.ended_at - b.ended_at);
  const names = [...new Set(sorted.map((rep) => rep.exercise))];
  const x = sorted.map((rep) => rep.ended_at);
  const columns = names.map((name) =>
    sorted.map((rep) => (rep.exercise === name ? Math.round(rep.depth * 1000) / 10 : null)),
  );
  const series = names.map((name) => ({
    label: EXERCISES[name]?.label ?? name,
    stroke: EXERCISES[name]?.color ?? "#555",
    paths: () => null,
    points: { show: true, size: 7, fill: EXERCISES[name]?.color ?? "#555" },
  }));
  const describe = (i) => {
    const rep = sorted[i];
    const when = new Date(rep.ended_at * 1000).toLocaleString(undefined, {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    });
    const kind = (EXERCISES[rep.exercise]?.label ?? rep.exercise).replace(/s$/, "");
    return `${when}: ${kind} ${rep.complete ? "" : "(partial) "}at ${Math.round(rep.depth * 100)}% of the target depth`;
  };
  return mount(
    element,
    {
      scales: { y: { range: (u, min, max) => [0, Math.max(130, max * 1.1)] } },
      axes: [
        { ...AXIS, font: FONT, size: 56, space: 80, values: timeTicks },
        { ...AXIS, font: FONT, size: 60, incrs: [25, 50], values: (u, splits) => splits.map((v) => `${v}%`) },
      ],
      series: [
        { label: "Time" },
        ...series,
        { label: "Target (100%)", stroke: "#1a1a1a", dash: [6, 4], width: 1.5, points: { show: false } },
      ],
      legend: { live: false },
      cursor: { points: { size: 9 }, drag: { x: false, y: false } },
      hooks: { setCursor: [readoutHook(readout, describe)] },
    },
    [x, ...columns, x.map(() => 100)],
    readout,
  );
}

/**
 * Per exercise, reps per week (solid, left axis) and the week's average depth in % of the
 * target (dashed, right axis). weeks: the Monday of each week ("YYYY-MM-DD"), oldest first;
 * trend: {exercise: {reps: [...], avg_depth: [... or null]}}.
 */
export function trendChart(element, { weeks, trend }, readout) {
  const dates = weeks.map((key) => {
    const [y, m, d] = key.split("-").map(Number);
    return new Date(y, m - 1, d);
  });
  const names = Object.keys(trend);
  const colour = (name) => EXERCISES[name]?.color ?? "#555";
  const label = (name) => EXERCISES[name]?.label ?? name;
  const depthOf = (name) => trend[name].avg_depth.map((v) => (v === null ? null : Math.round(v * 1000) / 10));
  const series = names.flatMap((name) => [
    { label: `${label(name)}: reps`, stroke: colour(name), width: 2.5, scale: "reps", points: { show: true, size: 6, fill: colour(name) } },
    { label: `${label(name)}: depth`, stroke: colour(name), width: 1.5, dash: [6, 4], scale: "depth", spanGaps: true, points: { show: true, size: 5 } },
  ]);
  const describe = (i) => {
    const parts = names.map((name) => {
      const depth = depthOf(name)[i];
      return `${trend[name].reps[i]} ${label(name).toLowerCase()}${depth === null ? "" : ` at ${Math.round(depth)}%`}`;
    });
    return `Week of ${dates[i].toLocaleDateString(undefined, { day: "numeric", month: "short" })}: ${parts.join(", ") || "no reps"}`;
  };
  return mount(
    element,
    {
      scales: {
        x: { time: false, range: () => [-0.5, dates.length - 0.5] },
        reps: { range: (u, min, max) => [0, Math.max(5, (max ?? 0) * 1.1)] },
        depth: { range: (u, min, max) => [0, Math.max(130, (max ?? 0) * 1.1)] },
      },
      axes: [
        { ...AXIS, font: FONT, size: 56, space: 28, incrs: [1, 2, 4], splits: fromNewest(dates.length), values: dateTicks(dates, "week") },
        { ...AXIS, font: FONT, size: 40, scale: "reps", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
        { ...AXIS, font: FONT, size: 56, scale: "depth", side: 1, grid: { show: false }, incrs: [25, 50], values: (u, splits) => splits.map((v) => `${v}%`) },
      ],
      series: [{ label: "Week" }, ...series],
      legend: { live: false },
      cursor: { points: { size: 9 }, drag: { x: false, y: false } },
      hooks: { setCursor: [readoutHook(readout, describe)] },
    },
    [dates.map((_, i) => i), ...names.flatMap((name) => [trend[name].reps, depthOf(name)])],
    readout,
  );
}

// History charts drawn by uPlot (vendored in static/vendor/uplot, MIT): grouped bars of reps
// per day or week, and each rep's depth over time.

export const EXERCISES = {
  squat: { label: "Squats", color: "#0b5cad" },
  pushup: { label: "Push-ups", color: "#b3470b" },
};
const AXIS = { stroke: "#1a1a1a", grid: { stroke: "#d9d9d9", width: 1 }, ticks: { stroke: "#bdbdbd" } };
const FONT = "14px system-ui, sans-serif";

function sized(element, options) {
  const width = Math.max(200, element.clientWidth);
  return { width, height: Math.round(Math.min(260, Math.max(180, width * 0.5))), ...options };
}

function mount(element, options, data) {
  element.replaceChildren();
  const chart = new window.uPlot(sized(element, options), data, element);
  new ResizeObserver(() => {
    const { width, height } = sized(element, {});
    if (width !== chart.width) chart.setSize({ width, height });
  }).observe(element);
  return chart;
}

/**
 * Grouped bars. labels: one per slot (x = 0..n-1) for the legend, ticks: the short axis
 * labels; groups: {exercise: [reps per slot]}.
 */
export function barChart(element, labels, ticks, groups) {
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
  return mount(
    element,
    {
      scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] }, y: { range: (u, min, max) => [0, Math.max(5, max * 1.1)] } },
      axes: [
        { ...AXIS, font: FONT, space: 34, incrs: [1, 2, 3, 7, 14], values: (u, splits) => splits.map((i) => ticks[i] ?? "") },
        { ...AXIS, font: FONT, size: 44, label: "reps", labelFont: FONT, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
      ],
      series: [{ label: "Period", value: (u, i) => labels[i] ?? "" }, ...series],
      legend: { live: true },
      cursor: { points: { show: false } },
    },
    [labels.map((_, i) => i), ...names.map((name) => groups[name])],
  );
}

/** Each rep's depth (1.0 = the target depth) against its end time, one colour per exercise. */
export function depthChart(element, reps) {
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
    value: (u, v) => (v === null ? "–" : `${v}%`),
  }));
  return mount(
    element,
    {
      scales: { y: { range: (u, min, max) => [0, Math.max(130, max * 1.1)] } },
      axes: [
        { ...AXIS, font: FONT, space: 90 },
        { ...AXIS, font: FONT, size: 60, incrs: [25, 50], values: (u, splits) => splits.map((v) => `${v}%`) },
      ],
      series: [
        { label: "Time" },
        ...series,
        { label: "Target", stroke: "#1a1a1a", dash: [6, 4], width: 1.5, points: { show: false }, value: () => "100%" },
      ],
      cursor: { points: { size: 9 } },
    },
    [x, ...columns, x.map(() => 100)],
  );
}

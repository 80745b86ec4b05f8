// The skeleton overlay: keypoints from a pose event drawn on a canvas over the preview image.

/** The rectangle the image's content fills inside its box (object-fit: contain). */
function contentRect(boxWidth, boxHeight, imageWidth, imageHeight) {
  const scale = Math.min(boxWidth / imageWidth, boxHeight / imageHeight);
  const width = imageWidth * scale;
  const height = imageHeight * scale;
  return { x: (boxWidth - width) / 2, y: (boxHeight - height) / 2, scale };
}

/** Size the canvas backing store to its displayed size in device pixels. */
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * ratio);
  const height = Math.round(canvas.clientHeight * ratio);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  return ratio;
}

/** The drawing options the page's preview element carries (data-keypoints, data-edges,
 * data-min-score, data-min-pose-score: the server's keypoint names and thresholds). */
export function overlayOptions(preview) {
  return {
    names: JSON.parse(preview.dataset.keypoints),
    edges: JSON.parse(preview.dataset.edges),
    minScore: Number(preview.dataset.minScore),
    minPoseScore: Number(preview.dataset.minPoseScore),
  };
}

/** The keypoint indices and bones a cue is about, on both sides of the body: body is
 * {points: ["hip"], segments: [["hip", "knee"]]} (names without left_/right_). */
function highlighted(names, body) {
  const index = (name) => names.indexOf(name);
  const sides = (name) => (names.includes(name) ? [name] : [`left_${name}`, `right_${name}`]);
  const points = (body?.points ?? []).flatMap(sides).map(index).filter((i) => i >= 0);
  const bones = (body?.segments ?? []).flatMap(([a, b]) =>
    names.includes(a) ? [[index(a), index(b)]] : ["left_", "right_"].map((side) => [index(side + a), index(side + b)]),
  );
  return { points, bones };
}

/**
 * Draw one pose. pose: {width, height, score, keypoints: {name: [x, y, score]}} in the frame's
 * pixels; names: keypoint names in index order; edges: [[i, j], ...]; minScore: keypoints
 * scored below it are skipped (and bones touching them). body: the part of the body the shown
 * cue is about ({points, segments}, see highlighted), drawn thick in the cue box's yellow.
 * Returns the number of points drawn.
 */
export function drawPose(canvas, pose, { names, edges, minScore, minPoseScore }, body = null) {
  const ratio = fitCanvas(canvas);
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.highlight = (body?.points ?? []).join(","); // what is highlighted, for tests
  if (!pose || pose.score < minPoseScore || !pose.width || !pose.height) return 0;
  const rect = contentRect(canvas.width, canvas.height, pose.width, pose.height);
  const points = names.map((name) => {
    const kp = pose.keypoints[name];
    if (!kp || kp[2] < minScore) return null;
    return [rect.x + kp[0] * rect.scale, rect.y + kp[1] * rect.scale];
  });
  g.lineCap = "round";
  // A dark outline under a bright line keeps the bones visible on light and dark footage.
  for (const [color, width] of [["rgba(0,0,0,0.65)", 7], ["#00e5ff", 3.5]]) {
    g.strokeStyle = color;
    g.lineWidth = width * ratio;
    g.beginPath();
    for (const [i, j] of edges) {
      if (points[i] && points[j]) {
        g.moveTo(...points[i]);
        g.lineTo(...points[j]);
      }
    }
    g.stroke();
  }
  const mark = highlighted(names, body);
  for (const color of ["#000", "#ffd600"]) {
    g.strokeStyle = color;
    g.lineWidth = (color === "#000" ? 14 : 9) * ratio;
    g.beginPath();
    for (const [i, j] of mark.bones) {
      if (points[i] && points[j]) {
        g.moveTo(...points[i]);
        g.lineTo(...points[j]);
      }
    }
    g.stroke();
  }
  for (const i of mark.points) {
    if (!points[i]) continue;
    g.beginPath();
    g.arc(points[i][0], points[i][1], 8 * ratio, 0, 2 * Math.PI);
    g.lineWidth = 3 * ratio;
    g.strokeStyle = "#ffd600";
    g.stroke();
    g.lineWidth = 1.5 * ratio;
    g.strokeStyle = "#000";
    g.stroke();
  }
  let drawn = 0;
  for (const point of points) {
    if (!point) continue;
    g.beginPath();
    g.arc(point[0], point[1], 4.5 * ratio, 0, 2 * Math.PI);
    g.fillStyle = "#ffd600";
    g.fill();
    g.lineWidth = 1.5 * ratio;
    g.strokeStyle = "#000";
    g.stroke();
    drawn += 1;
  }
  return drawn;
}

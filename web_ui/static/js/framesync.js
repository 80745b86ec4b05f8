// The live preview with the skeleton of the frame on screen. The MJPEG stream is read with
// fetch (not an <img>), so each picture comes with its frame number (the X-Frame-Index header
// of its part); the pose events carry the same number. A picture is drawn with the pose of its
// own frame, never a newer one: the skeleton cannot run ahead of the picture. Poses usually
// arrive first (a picture is encoded and sent at most preview_fps times a second): they wait
// here, the last POSES_KEPT of them. The frame canvas's data-lag-ms is how long the last
// picture came after its pose, data-ahead how many frames the newest pose is ahead of the
// picture on screen (what an <img> with the newest skeleton showed).

const POSES_KEPT = 90;
const HEADER_END = [13, 10, 13, 10]; // \r\n\r\n

/** Where a byte sequence starts in a buffer, or -1. */
function find(buffer, needle, from = 0) {
  outer: for (let i = from; i <= buffer.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buffer[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** One multipart part from the front of the buffer: {headers, body, rest}, or null for more. */
export function nextPart(buffer) {
  const end = find(buffer, HEADER_END);
  if (end < 0) return null;
  const text = new TextDecoder().decode(buffer.subarray(0, end));
  const headers = {};
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"]);
  const start = end + HEADER_END.length;
  if (!Number.isFinite(length) || buffer.length < start + length) return null;
  const body = buffer.subarray(start, start + length);
  let rest = buffer.subarray(start + length);
  if (rest[0] === 13 && rest[1] === 10) rest = rest.subarray(2);
  return { headers, body, rest };
}

export class FrameSync {
  /**
   * frameCanvas: where pictures go; draw(pose): draws the skeleton (null clears it);
   * onFrame(width, height): each picture's size (the preview's shape).
   */
  constructor(frameCanvas, draw, onFrame) {
    this.canvas = frameCanvas;
    this.draw = draw;
    this.onFrame = onFrame;
    this.poses = new Map();
    this.shown = null; // the frame number on screen
    this.controller = null;
    this.poseAt = new Map();
  }

  /** A pose event: kept for its picture; drawn now if its picture is already on screen. */
  pose(pose) {
    this.poses.set(pose.frame, pose);
    this.poseAt.set(pose.frame, performance.now());
    if (this.poses.size > POSES_KEPT) {
      const oldest = this.poses.keys().next().value;
      this.poses.delete(oldest);
      this.poseAt.delete(oldest);
    }
    if (pose.frame === this.shown) this.draw(pose);
    // How many frames this pose is ahead of the picture on screen: what an <img> showed.
    if (this.shown !== null) this.canvas.dataset.ahead = String(pose.frame - this.shown);
  }

  /** The pose of a frame, or of the newest frame before it (frames the model skipped). */
  poseFor(index) {
    if (this.poses.has(index)) return this.poses.get(index);
    let best = null;
    for (const [frame, pose] of this.poses) if (frame <= index && (best === null || frame > best.frame)) best = pose;
    return best;
  }

  async start(url) {
    this.stop();
    const controller = (this.controller = new AbortController());
    try {
      const response = await fetch(url, { signal: controller.signal, cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const reader = response.body.getReader();
      let buffer = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(buffer.length + value.length);
        joined.set(buffer);
        joined.set(value, buffer.length);
        buffer = joined;
        for (let part = nextPart(buffer); part; part = nextPart(buffer)) {
          buffer = part.rest;
          await this.picture(Number(part.headers["x-frame-index"]), part.body);
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return false;
      throw error;
    }
    return !controller.signal.aborted;
  }

  async picture(index, jpeg) {
    const bitmap = await createImageBitmap(new Blob([jpeg], { type: "image/jpeg" }));
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
    }
    this.canvas.getContext("2d").drawImage(bitmap, 0, 0);
    bitmap.close();
    this.shown = index;
    const at = this.poseAt.get(index);
    if (at !== undefined) this.canvas.dataset.lagMs = String(Math.round(performance.now() - at));

    this.draw(this.poseFor(index));
    this.onFrame(this.canvas.width, this.canvas.height);
  }

  stop() {
    this.controller?.abort();
    this.controller = null;
    this.shown = null;
  }

  get running() {
    return this.controller !== null;
  }
}

// Keeps the phone's screen on while the live page is open. The Screen Wake Lock API where the
// browser has it (only in a secure context: HTTPS or localhost); on the appliance's plain-HTTP
// LAN address, NoSleep.js's silent looping video, which starts only from a tap.
// body[data-awake] says which one holds the screen ("wake-lock" or "video").

let lock = null;
let video = null;
let pending = false;

function mark(how) {
  if (how) document.body.dataset.awake = how;
  else delete document.body.dataset.awake;
}

/** Ask for the screen to stay on; call at load, on every tap and when the page shows again. */
export async function keepAwake() {
  if (pending || document.visibilityState !== "visible") return;
  pending = true;
  try {
    if ("wakeLock" in navigator) {
      if (!lock || lock.released) {
        lock = await navigator.wakeLock.request("screen");
        lock.addEventListener("release", () => mark(null));
      }
      mark("wake-lock");
    } else if (window.NoSleep) {
      video ??= new window.NoSleep();
      if (!video.isEnabled) await video.enable();
      mark("video");
    }
  } catch {
    // refused (no tap yet, battery saver): the next tap tries again
  } finally {
    pending = false;
  }
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") {
    keepAwake();
  } else if (video?.isEnabled) {
    video.disable(); // the browser pauses it anyway; the next tap or return starts it again
    mark(null);
  }
});

// This phone's display choice, kept in its browser: the live page's camera picture shown or not.

const PREVIEW_KEY = "repcounter.preview";

export const previewShown = () => localStorage.getItem(PREVIEW_KEY) !== "off";

export function setPreviewShown(shown) {
  localStorage.setItem(PREVIEW_KEY, shown ? "on" : "off");
}

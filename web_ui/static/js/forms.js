// Password fields: a "Show" toggle beside each, and on the first-run form a check that both
// passwords match before anything is sent (a mismatch keeps the first field).

/** Add a show/hide button after every password input in root. */
export function addRevealButtons(root = document) {
  for (const input of root.querySelectorAll('input[type="password"]')) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reveal";
    button.textContent = "Show";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", `Show ${input.labels?.[0]?.textContent.trim().toLowerCase() ?? "password"}`);
    button.addEventListener("click", () => {
      const shown = input.type === "password";
      input.type = shown ? "text" : "password";
      button.textContent = shown ? "Hide" : "Show";
      button.setAttribute("aria-pressed", String(shown));
    });
    const wrap = document.createElement("div");
    wrap.className = "password-wrap";
    input.replaceWith(wrap);
    wrap.append(input, button);
  }
}

/** The first-run form: refuse a mismatch at the second field, keeping the first. */
function checkConfirm(form) {
  const first = form.querySelector("#password");
  const confirm = form.querySelector("#confirm");
  const error = form.querySelector("#confirm-error");
  form.addEventListener("submit", (event) => {
    if (confirm.value === first.value) return;
    event.preventDefault();
    error.textContent = "The two passwords differ: type the same password again.";
    confirm.setAttribute("aria-invalid", "true");
    confirm.value = "";
    confirm.focus();
  });
  confirm.addEventListener("input", () => {
    error.textContent = "";
    confirm.removeAttribute("aria-invalid");
  });
}

addRevealButtons(document.querySelector("main"));
const setupForm = document.getElementById("setup-form");
if (setupForm) checkConfirm(setupForm);

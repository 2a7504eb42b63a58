// Sign-in: the master key is sent once as JSON and exchanged for an HttpOnly session cookie.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signin-form");
  const error = document.getElementById("signin-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("master-key");
    error.hidden = true;
    const resp = await fetch("/console/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ master_key: input.value }),
    });
    input.value = "";
    if (resp.ok) {
      window.location.assign("/console/");
      return;
    }
    const data = await resp.json().catch(() => ({}));
    error.textContent = (data.error && data.error.message) || `Sign-in failed (HTTP ${resp.status})`;
    error.hidden = false;
  });
});

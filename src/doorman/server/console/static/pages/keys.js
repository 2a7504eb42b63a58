// Keys: list, create (secret shown once), revoke, rotate with a grace period.
"use strict";

Doorman.pages.keys = async () => {
  const { api, el, fillTable, when, notice } = Doorman;
  const secretBox = document.getElementById("secret");

  function showSecret(issued, what) {
    document.getElementById("secret-value").textContent = issued.key;
    document.getElementById("secret-for").textContent = `(${what} ${issued.id} for ${issued.user})`;
    secretBox.hidden = false;
  }
  document.getElementById("secret-hide").addEventListener("click", () => {
    document.getElementById("secret-value").textContent = "";
    secretBox.hidden = true;
  });

  async function act(run, message) {
    try {
      await run();
      notice(message, "ok");
    } catch (error) {
      notice(error.message, "error");
    }
    await load();
  }

  async function load() {
    const keys = (await api("GET", "/admin/keys?limit=500")).data;
    fillTable(document.getElementById("keys"), [
      ["Key id", (k) => el("code", {}, k.id)],
      ["User", (k) => k.user],
      ["Tier", (k) => k.tier],
      ["Status", (k) => el("span", { class: `badge ${k.status}` }, k.status)],
      ["Created", (k) => when(k.created_at)],
      ["Expires", (k) => when(k.expires_at)],
      ["Last used", (k) => when(k.last_used_at)],
      ["Old secret valid until", (k) => when(k.previous_secret_valid_until)],
      ["", (k) => k.status === "revoked" ? "" : el("span", { class: "actions" },
        el("button", {
          type: "button", class: "revoke", dataset: { key: k.id },
          onclick: () => {
            if (!window.confirm(`Revoke ${k.id}? Requests with it fail at once.`)) return;
            act(() => api("POST", `/admin/keys/${k.id}/revoke`, {}), `Key ${k.id} revoked.`);
          },
        }, "Revoke"),
        el("label", { class: "grace" }, "grace h ",
          el("input", { type: "number", min: 0, max: 720, value: 24, class: "grace-hours", dataset: { key: k.id } })),
        el("button", {
          type: "button", class: "rotate", dataset: { key: k.id },
          onclick: (event) => {
            const hours = Number(event.target.parentElement.querySelector("input").value || 0);
            act(async () => showSecret(await api("POST", `/admin/keys/${k.id}/rotate`, { grace_hours: hours }), "rotated key"),
              `Key ${k.id} rotated; the old secret works for ${hours} more hours.`);
          },
        }, "Rotate"))],
    ], keys, "No keys yet.");
  }

  document.getElementById("create-key").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { user: form.get("user") };
    if (form.get("tier")) body.tier = form.get("tier");
    if (form.get("expires_days")) body.expires_days = Number(form.get("expires_days"));
    act(async () => {
      showSecret(await api("POST", "/admin/keys", body), "new key");
      event.target.reset();
    }, "Key created.");
  });
  const tiers = (await api("GET", "/admin/tiers")).data;
  document.getElementById("tier-names").replaceChildren(
    ...tiers.map((t) => el("option", { value: t.name }, t.default ? `${t.name} (default)` : t.name)));
  const fallback = tiers.find((t) => t.default);
  if (fallback) document.querySelector("#create-key input[name=tier]").placeholder = `${fallback.name} (default)`;
  await load();
};

// Doorman console: the shared part of every page.
// Talks only to the admin API with the session cookie; the CSRF token lives in memory only.
"use strict";

const Doorman = (() => {
  let csrfToken = null;
  const pages = {};

  function toSignIn() {
    window.location.assign("/console/signin");
  }

  async function loadSession() {
    const resp = await fetch("/console/session", { credentials: "same-origin" });
    if (resp.status === 401) {
      toSignIn();
      return false;
    }
    csrfToken = (await resp.json()).csrf_token;
    return true;
  }

  // One admin API call. State-changing methods carry the session's CSRF token.
  async function api(method, path, body) {
    const headers = { accept: "application/json" };
    if (method !== "GET") {
      headers["x-csrf-token"] = csrfToken;
      headers["content-type"] = "application/json";
    }
    const resp = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (resp.status === 401) {
      toSignIn();
      throw new Error("signed out");
    }
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const message = (data.error && data.error.message) || `HTTP ${resp.status}`;
      throw new Error(message);
    }
    return data;
  }

  // Elements are built with textContent only: nothing from the API is parsed as HTML.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Fill a <table>: columns are [heading, row => cell content] pairs.
  function fillTable(table, columns, rows, empty) {
    table.replaceChildren();
    table.append(el("thead", {}, el("tr", {}, columns.map(([h]) => el("th", { scope: "col" }, h)))));
    const body = el("tbody");
    if (!rows.length) {
      body.append(el("tr", {}, el("td", { colspan: columns.length, class: "empty" }, empty || "Nothing yet.")));
    }
    for (const row of rows) {
      body.append(el("tr", {}, columns.map(([, cell]) => el("td", {}, cell(row)))));
    }
    table.append(body);
  }

  function money(value) {
    if (value === null || value === undefined) return "—";
    return value >= 100 ? `$${value.toFixed(2)}` : `$${value.toFixed(value >= 1 ? 4 : 6)}`;
  }

  function number(value) {
    return value === null || value === undefined ? "—" : Number(value).toLocaleString("en-US");
  }

  function percent(value) {
    return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
  }

  function ms(value) {
    return value === null || value === undefined ? "—" : `${value.toFixed(1)} ms`;
  }

  function when(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    return d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function card(label, value, id) {
    return el("div", { class: "card", dataset: id ? { metric: id } : undefined },
      el("span", { class: "label" }, label), el("span", { class: "value" }, value));
  }

  function notice(message, kind) {
    const box = document.getElementById("notice");
    if (!box) return;
    box.textContent = message;
    box.className = `notice ${kind || ""}`;
    box.hidden = !message;
  }

  // A row of toggle buttons (data-<name>="value"); calls back with the chosen value.
  function choice(groupId, name, onChange) {
    const group = document.getElementById(groupId);
    if (!group) return () => null;
    const current = () => group.querySelector("button.on").dataset[name];
    group.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      group.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b === button));
      onChange(button.dataset[name]);
    });
    return current;
  }

  async function signOut() {
    try {
      await api("DELETE", "/console/session");
    } finally {
      toSignIn();
    }
  }

  async function start() {
    const signout = document.getElementById("signout");
    if (signout) signout.addEventListener("click", signOut);
    if (!(await loadSession())) return;
    const page = pages[document.body.dataset.page];
    if (!page) return;
    try {
      await page();
      document.body.dataset.ready = "true";
    } catch (error) {
      notice(error.message, "error");
      document.body.dataset.ready = "error";
    }
  }

  document.addEventListener("DOMContentLoaded", start);
  return { api, el, fillTable, money, number, percent, ms, when, card, notice, choice, pages };
})();

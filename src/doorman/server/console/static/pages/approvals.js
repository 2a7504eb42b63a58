// Approvals: tool calls withheld for a person's decision; approve or deny from the list.
"use strict";

Doorman.pages.approvals = async () => {
  const { api, el, fillTable, when, notice } = Doorman;
  let status = "pending";

  // The call's arguments, as the approver must see them to decide (text only, never markup).
  function args(call) {
    const value = call.input !== undefined ? call.input
      : call.function ? call.function.arguments : call.arguments;
    const textValue = typeof value === "string" ? value : JSON.stringify(value);
    return el("code", { class: "arguments" }, textValue.length > 400 ? `${textValue.slice(0, 400)}…` : textValue);
  }

  async function decide(approval, verb) {
    try {
      await api("POST", `/admin/approvals/${encodeURIComponent(approval.id)}/${verb}`, {});
      notice(`${approval.tool_name} call ${approval.id} ${verb === "approve" ? "approved" : "denied"}.`, "ok");
    } catch (error) {
      notice(error.message, "error");
    }
    await load();
  }

  async function load() {
    const query = status ? `?status=${status}&limit=200` : "?limit=200";
    const rows = (await api("GET", `/admin/approvals${query}`)).data;
    fillTable(document.getElementById("approvals"), [
      ["Approval id", (a) => el("code", {}, a.id)],
      ["Status", (a) => el("span", { class: `badge ${a.status}` }, a.status)],
      ["Tool", (a) => el("strong", {}, a.tool_name)],
      ["Arguments", (a) => args(a.tool_call)],
      ["User", (a) => a.user],
      ["Tier", (a) => a.tier || ""],
      ["Requested", (a) => when(a.created_at)],
      ["Expires", (a) => when(a.expires_at)],
      ["Decided by", (a) => a.decided_by || ""],
      ["", (a) => a.status !== "pending" ? "" : el("span", { class: "actions" },
        el("button", { type: "button", class: "approve", dataset: { approval: a.id },
                       onclick: () => decide(a, "approve") }, "Approve"),
        el("button", { type: "button", class: "deny", dataset: { approval: a.id },
                       onclick: () => decide(a, "deny") }, "Deny"))],
    ], rows, status === "pending" ? "Nothing is waiting for approval." : "No approvals.");
  }

  Doorman.choice("status-choice", "status", (value) => { status = value; load(); });
  await load();
};

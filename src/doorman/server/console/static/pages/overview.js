// Overview: spend, requests and tokens over time by model or tier, from GET /admin/overview.
"use strict";

Doorman.pages.overview = async () => {
  const { api, el, fillTable, money, number, percent, ms, card } = Doorman;
  const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
  const LABELS = { cost_usd: "Spend (USD)", requests: "Requests", tokens: "Tokens" };
  const state = { window: "day", by: "model", metric: "cost_usd" };
  let plot = null;
  let data = null;

  const values = (series, metric) =>
    metric === "tokens"
      ? series.input_tokens.map((v, i) => v + series.output_tokens[i])
      : series[metric];

  function drawSummary(s) {
    document.getElementById("summary").replaceChildren(
      card("Requests", number(s.requests), "requests"),
      card("Spend", money(s.cost_usd), "cost"),
      card("Error rate", percent(s.error_rate), "error_rate"),
      card("Cache hit rate", percent(s.cache_hit_rate), "cache_hit_rate"),
      card("Saved by the cache", s.saved_usd === null ? "not recorded" : money(s.saved_usd), "saved"),
      card("Gateway p50 / p99", `${ms(s.gateway_ms_p50)} / ${ms(s.gateway_ms_p99)}`, "gateway_ms"),
      card("Upstream p50 / p99", `${ms(s.upstream_ms_p50)} / ${ms(s.upstream_ms_p99)}`, "upstream_ms"),
    );
  }

  function drawChart() {
    const box = document.getElementById("chart");
    const metric = state.metric;
    document.getElementById("chart-title").textContent =
      `${LABELS[metric]} by ${state.by}, ${state.window === "month" ? "per day" : state.window === "day" ? "per hour" : "per minute"}`;
    if (plot) plot.destroy();
    box.replaceChildren();
    const series = data.series;
    const columns = [data.buckets, ...series.map((s) => values(s, metric))];
    const opts = {
      width: Math.max(320, box.clientWidth || 900),
      height: 300,
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.group === null ? "(none)" : s.group,
          stroke: COLORS[i % COLORS.length],
          fill: COLORS[i % COLORS.length] + "22",
          width: 2,
          points: { show: data.buckets.length <= 30 },
          value: (u, v) => (v === null ? "—" : metric === "cost_usd" ? money(v) : number(v)),
        })),
      ],
      axes: [{}, { size: 90, values: (u, ticks) => ticks.map((t) => (metric === "cost_usd" ? `$${t.toPrecision(3)}` : number(t))) }],
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    };
    plot = new uPlot(opts, columns, box);
    box.dataset.series = String(series.length);
    box.dataset.drawn = "true";
    fillTable(
      document.getElementById("series-totals"),
      [
        [state.by === "model" ? "Model" : "Tier", (s) => (s.group === null ? "(none)" : s.group)],
        ["Requests", (s) => el("span", { dataset: { requests: String(s.total_requests) } }, number(s.total_requests))],
        ["Tokens", (s) => number(s.total_tokens)],
        ["Errors", (s) => number(s.errors.reduce((a, b) => a + b, 0))],
        ["Spend", (s) => el("span", { dataset: { cost: String(values(s, "cost_usd").reduce((a, b) => a + b, 0)) } }, money(s.total_cost_usd))],
      ],
      series,
      "No requests in this window.",
    );
  }

  async function load() {
    data = await api("GET", `/admin/overview?window=${state.window}&by=${state.by}`);
    drawSummary(data.summary);
    drawChart();
  }

  Doorman.choice("window-choice", "window", (v) => { state.window = v; load(); });
  Doorman.choice("by-choice", "by", (v) => { state.by = v; load(); });
  Doorman.choice("metric-choice", "metric", (v) => { state.metric = v; drawChart(); });
  await load();
};

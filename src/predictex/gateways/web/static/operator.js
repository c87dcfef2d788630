// The operator's console. Each form is one call of the operator API (/predictex/v1/admin/...) through
// /web/api; fields become the JSON body by their data-kind. The server's validation is the API's.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  function body(form) {
    const json = {};
    let path = form.dataset.path;
    let sourceName = "";
    let sourceUrl = "";
    for (const input of form.querySelectorAll("[name]")) {
      const kind = input.dataset.kind || "text";
      const value = input.type === "checkbox" ? input.checked : input.value.trim();
      if (kind === "path") { path = path.replace("{" + input.name + "}", encodeURIComponent(value)); continue; }
      if (kind === "bool") { json[input.name] = value; continue; }
      if (kind === "now") { json[input.name] = new Date().toISOString().replace(/\.[0-9]{3}Z$/, "Z"); continue; }
      if (kind === "source-name") { sourceName = value; continue; }
      if (kind === "source-url") { sourceUrl = value; continue; }
      if (value === "") continue;
      if (kind === "int") json[input.name] = Number(value);
      else if (kind === "list") json[input.name] = value.split(",").map((s) => s.trim()).filter(Boolean);
      else if (kind === "time") json[input.name] = new Date(value).toISOString().replace(".000Z", "Z");
      else json[input.name] = value;
    }
    if (sourceName || sourceUrl) json.settlement_sources = [{name: sourceName, url: sourceUrl}];
    if (json.fee_multiplier !== undefined && /^[0-9]+$/.test(json.fee_multiplier)) json.fee_multiplier = Number(json.fee_multiplier);
    return [path, json];
  }
  document.querySelectorAll("form.api-form").forEach((form) => form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector(".result");
    const [path, json] = body(form);
    try {
      const answer = await px.api(form.dataset.method, path, json);
      result.textContent = "Done: " + JSON.stringify(answer);
      form.dataset.done = String(Number(form.dataset.done || 0) + 1);
    } catch (e) {
      result.textContent = "Refused: " + e.message;
    }
  }));
  const verify = document.getElementById("verify");
  if (verify) {
    verify.addEventListener("click", async () => {
      const output = document.getElementById("verify-output");
      output.textContent = "verifying…";
      try {
        const answer = await px.api("POST", "/web/operator/verify");
        output.textContent = (answer.ok ? "OK\n" : "FAILED\n") + answer.output;
      } catch (e) { output.textContent = e.message; }
    });
  }
  // market and member ticker fields offer the known values
  document.querySelectorAll('input[name="ticker"][data-kind="path"]').forEach((i) => i.setAttribute("list", "market-tickers"));
  document.querySelectorAll('input[name="member_id"][data-kind="path"]').forEach((i) => i.setAttribute("list", "member-ids"));
});

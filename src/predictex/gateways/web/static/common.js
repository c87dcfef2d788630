// Shared by every page: the CSRF token, calls to the REST API through /web/api (the session cookie
// proves who calls), the live WebSocket (Kalshi's /trade-api/ws/v2, the same feed SDKs use), and
// small formatting helpers. No inline script anywhere: the Content-Security-Policy forbids it.
"use strict";

const px = (() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  async function api(method, path, body) {
    const init = {method, headers: {"accept": "application/json"}, credentials: "same-origin"};
    if (method !== "GET") {
      init.headers["x-csrf-token"] = csrf();
    }
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path.startsWith("/web/") ? path : "/web/api" + path, init);
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = {raw: text}; }
    if (!response.ok) {
      const error = (data && data.error) || {};
      const message = typeof error === "string" ? error : [error.message, error.details].filter(Boolean).join(": ");
      throw new Error(message || ("HTTP " + response.status));
    }
    return data;
  }

  // One WebSocket per page; subscriptions are re-sent after a reconnect and `onOpen` runs again
  // (pages reload their snapshot then, so nothing missed while disconnected stays missed).
  function live(subscriptions, onMessage, onOpen) {
    const status = document.getElementById("live-status");
    let socket = null;
    let attempt = 0;
    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + "/trade-api/ws/v2");
      socket.onopen = () => {
        attempt = 0;
        subscriptions.forEach((params, index) => socket.send(JSON.stringify({id: index + 1, cmd: "subscribe", params})));
        if (status) status.textContent = "live";
        document.body.dataset.live = "yes";
        if (onOpen) onOpen();
      };
      socket.onmessage = (event) => {
        let message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        onMessage(message);
      };
      socket.onclose = () => {
        document.body.dataset.live = "no";
        if (status) status.textContent = "reconnecting…";
        attempt += 1;
        setTimeout(connect, Math.min(5000, 250 * attempt));
      };
    }
    connect();
  }

  // Coalesces refreshes: while one runs, further requests make one more run afterwards.
  function refresher(task) {
    let running = false;
    let again = false;
    return async function refresh() {
      if (running) { again = true; return; }
      running = true;
      try {
        do { again = false; await task(); } while (again);
      } catch (e) {
        const status = document.getElementById("live-status");
        if (status) status.textContent = e.message;
      } finally {
        running = false;
      }
    };
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function dollars(value) {
    const number = Number(value);
    return isNaN(number) ? String(value) : "$" + number.toFixed(2);
  }

  return {api, live, refresher, cell, dollars, csrf};
})();

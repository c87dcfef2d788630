// Settings: API keys through the REST API (/web/api/trade-api/v2/api_keys...). A generated private key
// is shown once and handed to the browser as a download; it is never sent anywhere else.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const say = (text) => { document.getElementById("keys-result").textContent = text; };
  document.querySelectorAll(".delete-key").forEach((button) => button.addEventListener("click", async () => {
    if (!window.confirm("Delete API key " + button.dataset.keyId + "? Programs using it stop at once.")) return;
    try {
      await px.api("DELETE", "/trade-api/v2/api_keys/" + encodeURIComponent(button.dataset.keyId));
      button.closest("tr").remove();
      say("Deleted " + button.dataset.keyId + ".");
    } catch (e) { say(e.message); }
  }));
  document.getElementById("generate-key").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const scopes = form.elements.write.checked ? ["read", "write"] : ["read"];
    try {
      const answer = await px.api("POST", "/trade-api/v2/api_keys/generate",
        {name: form.elements.name.value, key_type: form.elements.key_type.value, scopes});
      const file = "predictex-" + answer.api_key_id + ".pem";
      const url = URL.createObjectURL(new Blob([answer.private_key], {type: "application/x-pem-file"}));
      const link = document.getElementById("generated-download");
      link.href = url;
      link.download = file;
      document.getElementById("generated-file").textContent = file;
      document.getElementById("generated-id").textContent = answer.api_key_id;
      document.getElementById("generated-pem").value = answer.private_key;
      document.getElementById("generated").hidden = false;
      link.click();
      say("Generated " + answer.api_key_id + ". Reload the page to see it in the list.");
    } catch (e) { say(e.message); }
  });
  document.getElementById("register-key").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    try {
      const answer = await px.api("POST", "/trade-api/v2/api_keys", {name: form.elements.name.value, public_key: form.elements.public_key.value});
      say("Added " + answer.api_key_id + ".");
      window.location.reload();
    } catch (e) { say(e.message); }
  });
});

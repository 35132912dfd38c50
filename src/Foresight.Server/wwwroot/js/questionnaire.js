// The expert's topic page. The page works as a plain form; this script adds: the rules between answers as they are
// given (questions not asked hidden: "not familiar" skips the topic, conditional questions; a rationale marked as
// needed; no more options ticked than a question takes), autosave of each change through the same form handler (it
// answers JSON when asked with X-Autosave), and the live parts: a notice when the round closes or its deadline
// moves, and the live group result of a real-time survey. The rules are the server's (AnswerRules), given to the
// page as data (the form's data-rules); nothing of them is written here.
(() => {
  "use strict";
  const form = document.getElementById("answers");
  if (!form) return;
  const text = JSON.parse(form.dataset.strings || "{}");
  const rules = JSON.parse(form.dataset.rules || '{"questions": []}');
  const status = document.getElementById("autosave");
  const fieldsets = [...form.querySelectorAll("fieldset.question")];
  const fmt = (v) => (v === null || v === undefined ? "–" : String(Math.round(v * 100) / 100));

  // A question's answer in the form, as the server reads the form (AnswerForm) and the rules compare it: the
  // chosen code or number, "don't know" / "never" chosen beside a free year, ticked options joined by ";" in the
  // page's (the question's) order; null when there is none.
  function answerOf(question) {
    const special = form.querySelector(`select[name="${CSS.escape("s." + question)}"]`);
    if (special && special.value) return special.value;
    const inputs = [...form.querySelectorAll(`[name="${CSS.escape("a." + question)}"]`)];
    if (inputs.length === 0) return null;
    if (inputs[0].type === "radio" || inputs[0].type === "checkbox") {
      const picked = inputs.filter((i) => i.checked).map((i) => i.value);
      return picked.length > 0 ? picked.join(";") : null;
    }
    const value = inputs[0].value.trim();
    return value === "" ? null : value;
  }

  // The questions not asked, in the rules' order; one not asked counts as unanswered for those after it.
  function notAsked() {
    const result = new Set();
    for (const q of rules.questions) {
      for (const c of q.asked_when) {
        const code = result.has(c.question) ? null : answerOf(c.question);
        const among = code !== null && (c.in || c.not_in).includes(code);
        if (among === Boolean(c.not_in)) { result.add(q.id); break; }
      }
    }
    return result;
  }

  function needsRationale(rule, value) {
    if (!rule || value === null) return false;
    return rule.for ? rule.for.includes(value) : !rule.except.includes(value);
  }

  // Hides the questions not asked (the server clears their answers on the next save), marks a rationale the answer
  // needs, and stops ticking once a question has as many options as it takes.
  function applyRules() {
    const hidden = notAsked();
    for (const q of rules.questions) {
      const fs = document.getElementById("q-" + q.id);
      if (!fs) continue;
      fs.dataset.hidden = hidden.has(q.id) ? "true" : "false";
      const why = document.getElementById("r-" + q.id);
      if (why) {
        const needed = !hidden.has(q.id) && needsRationale(q.rationale, answerOf(q.id));
        why.setAttribute("aria-required", needed ? "true" : "false");
        let note = document.getElementById("r-" + q.id + "-needed");
        if (needed && !note) {
          note = document.createElement("p");
          note.className = "note";
          note.id = "r-" + q.id + "-needed";
          note.textContent = text["q.js.rationale"] || "";
          why.after(note);
          why.setAttribute("aria-describedby", note.id);
        } else if (!needed && note) {
          note.remove();
          why.removeAttribute("aria-describedby");
        }
      }
      if (q.max_selections) {
        const boxes = [...fs.querySelectorAll("input[type=checkbox]")];
        const full = boxes.filter((b) => b.checked).length >= q.max_selections;
        for (const b of boxes) b.disabled = full && !b.checked;
      }
    }
  }

  function setStatus(key) {
    status.textContent = text[key] || key;
    status.dataset.state = key;
  }

  function showErrors(errors) {
    for (const old of form.querySelectorAll("p.error[data-js]")) old.remove();
    for (const fs of fieldsets) fs.classList.remove("invalid");
    for (const [question, messages] of Object.entries(errors || {})) {
      const fs = document.getElementById("q-" + question);
      if (!fs) continue;
      fs.classList.add("invalid");
      const p = document.createElement("p");
      p.className = "error";
      p.dataset.js = "true";
      p.id = "q-" + question + "-jserror";
      p.textContent = messages.join(" ");
      fs.querySelector("legend").after(p);
      fs.setAttribute("aria-describedby", p.id);
    }
  }

  function showProgress(progress) {
    if (!progress) return;
    const bar = document.getElementById("progress");
    bar.max = Math.max(1, progress.topics);
    bar.value = progress.complete;
    const label = text["q.progress"];
    if (label) document.getElementById("progress-text").textContent = label.replace("{0}", progress.complete).replace("{1}", progress.topics);
  }

  let timer = null;
  let inFlight = null;
  let again = false;

  async function save() {
    timer = null;
    if (inFlight) { again = true; return; }
    setStatus("q.js.saving");
    const body = new FormData(form);
    body.delete("go");
    inFlight = fetch(location.pathname, { method: "POST", body, headers: { "X-Autosave": "1" }, credentials: "same-origin" })
      .then(async (r) => {
        const answer = await r.json().catch(() => null);
        if (!answer) { setStatus("q.js.failed"); return; }
        showErrors(answer.errors);
        if (answer.saved) { setStatus("q.js.saved"); showProgress(answer.progress); }
        else if (answer.error) setStatus("q.js.closed");
        else setStatus("q.js.invalid");
      })
      .catch(() => setStatus("q.js.failed"))
      .finally(() => {
        inFlight = null;
        if (again) { again = false; save(); }
      });
  }

  function soon(ms) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, ms);
  }

  if (form.dataset.autosave === "on") {
    form.addEventListener("change", (e) => { applyRules(); soon(e.target.tagName === "TEXTAREA" ? 0 : 300); });
    form.addEventListener("input", (e) => { if (e.target.type === "number") applyRules(); if (e.target.tagName === "TEXTAREA" || e.target.type === "number") soon(1500); });
  }
  applyRules();

  // Live: the round closing or its deadline moving, and a real-time survey's group result for this topic.
  if (!window.signalR) return;
  const survey = form.dataset.survey;
  const topic = form.dataset.topic;
  const seqs = new Map();
  const connection = new signalR.HubConnectionBuilder().withUrl("/hubs/live").withAutomaticReconnect().build();

  function closeForm() {
    form.querySelector("fieldset.plain").disabled = true;
    for (const b of form.querySelectorAll(".actions button")) b.disabled = true;
    form.dataset.autosave = "off";
    setStatus("q.js.closed");
  }

  function showLive(t) {
    if (!t || t.topic !== topic) return;
    for (const q of t.questions) {
      const fs = document.getElementById("q-" + q.question);
      if (!fs || q.median === null || q.median === undefined) continue;
      let p = fs.querySelector("p.live");
      if (!p) {
        p = document.createElement("p");
        p.className = "live small";
        p.setAttribute("role", "status");
        fs.querySelector("legend").after(p);
      }
      p.textContent = (text["q.js.live"] || "")
        .replace("{0}", t.respondents).replace("{1}", fmt(q.median)).replace("{2}", fmt(q.q1)).replace("{3}", fmt(q.q3));
    }
  }

  async function join() {
    try {
      const snapshot = await connection.invoke("Join", survey);
      seqs.clear();
      for (const [stream, seq] of Object.entries(snapshot.streams)) seqs.set(stream, seq);
      if (snapshot.round && snapshot.round.status === "closed" && form.dataset.autosave === "on") closeForm();
      for (const t of snapshot.topics) showLive(t);
    } catch { /* the page still works without the live parts */ }
  }

  function fresh(m) {
    const last = seqs.get(m.stream);
    if (last !== undefined && m.seq <= last) return false;
    if (last !== undefined && m.seq !== last + 1) { join(); return false; }
    seqs.set(m.stream, m.seq);
    return true;
  }

  connection.on("round", (m) => {
    if (!fresh(m)) return;
    if (m.event === "closed") closeForm();
    else if (m.event === "deadline_changed" && m.round.deadline) {
      status.textContent = (text["q.js.deadline"] || "").replace("{0}", new Date(m.round.deadline).toLocaleString(document.documentElement.lang));
      status.dataset.state = "q.js.deadline";
    }
  });
  connection.on("update", (m) => { if (fresh(m)) for (const t of m.topics) showLive(t); });
  connection.on("snapshot", (s) => { for (const [stream, seq] of Object.entries(s.streams)) seqs.set(stream, seq); for (const t of s.topics) showLive(t); });
  connection.onreconnected(join);
  connection.start().then(join).catch(() => { /* no live parts */ });
})();

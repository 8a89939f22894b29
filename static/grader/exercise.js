// The code-exercise page: a CodeMirror editor, submission through the JSON API, and the live state of
// a submission (queued with its position → running → result), polled until it is final.
(function () {
  "use strict";
  const form = document.getElementById("submit-form");
  const live = document.getElementById("live");
  const history = document.querySelector("#history tbody");
  const refusal = document.getElementById("refusal");
  const button = form.querySelector("button[type=submit]");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const codes = JSON.parse(document.getElementById("submission-codes").textContent);
  const editor = CodeMirror.fromTextArea(document.getElementById("code"), {
    mode: "python",
    lineNumbers: true,
    indentUnit: 4,
    matchBrackets: true,
    extraKeys: {
      Tab: (cm) => (cm.somethingSelected() ? cm.indentSelection("add") : cm.replaceSelection("    ", "end")),
      "Shift-Tab": (cm) => cm.indentSelection("subtract"),
    },
  });
  let following = null;

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function scoreText(s) {
    return s.score === null ? "" : `${+s.score.toFixed(2)} / ${+s.max_score.toFixed(2)}`;
  }

  function stateText(s) {
    if (s.state === "queued") {
      return s.queue_position ? `Queued: number ${s.queue_position} in the queue.` : "Queued.";
    }
    if (s.state === "running") return "Running: your code is being graded…";
    return {
      graded: `Graded: ${scoreText(s)}`,
      failed: "Failed: your code did not run to the end (see below).",
      rejected: "Rejected: your code hit a limit (see below).",
      error: "Error on our side: this is not a problem with your code.",
    }[s.state];
  }

  function render(s) {
    live.replaceChildren();
    live.className = `state-${s.state}`;
    live.append(element("h2", `Submission #${s.attempt}`), element("p", stateText(s), "state-line"));
    if (s.final) {
      const feedback = element("div", null, "feedback");
      feedback.innerHTML = s.feedback_html; // sanitised Markdown rendered by the server
      live.append(feedback);
      const checks = Object.entries(s.checks);
      if (checks.length) {
        const table = element("table", null, "checks");
        table.append(element("caption", "Checks"));
        const head = table.insertRow();
        for (const title of ["", "Check", "Value", "Needed"]) head.append(element("th", title));
        for (const [name, check] of checks) {
          const row = table.insertRow();
          row.className = check.passed ? "passed" : "not-passed";
          row.append(element("td", check.passed ? "✓" : "✗"), element("td", name),
                     element("td", check.value), element("td", check.threshold));
        }
        live.append(table);
      }
      const metrics = Object.entries(s.metrics).filter(([name]) => name !== "figures");
      if (metrics.length) {
        const list = element("dl", null, "metrics");
        for (const [name, value] of metrics) list.append(element("dt", name), element("dd", JSON.stringify(value)));
        live.append(list);
      }
      if (s.output) live.append(element("h3", "What your code printed"), element("pre", s.output, "output"));
    }
    const row = history.querySelector(`tr[data-id="${s.id}"]`);
    if (row) {
      row.querySelector(".state").textContent = s.state;
      row.querySelector(".score").textContent = scoreText(s);
    }
  }

  async function follow(id) {
    following = id;
    while (following === id) {
      const response = await fetch(`${form.dataset.api}/${id}`, { headers: { Accept: "application/json" } });
      if (!response.ok) break;
      const submission = await response.json();
      if (following !== id) break;
      render(submission);
      if (submission.final) break;
      await new Promise((resolve) => setTimeout(resolve, submission.state === "queued" ? 1000 : 500));
    }
  }

  function addRow(s) {
    const empty = history.querySelector("tr.empty");
    if (empty) empty.remove();
    const row = history.insertRow(0);
    row.dataset.id = s.id;
    row.append(element("td", s.attempt), element("td", new Date(s.created_at).toISOString().slice(0, 19).replace("T", " ")),
               element("td", s.state, "state"), element("td", "", "score"));
    const actions = element("td");
    actions.append(element("button", "Show result", "show"), " ", element("button", "Resubmit from this", "load"));
    for (const b of actions.querySelectorAll("button")) b.type = "button";
    row.append(actions);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    refusal.textContent = "";
    button.disabled = true;
    const code = editor.getValue();
    const response = await fetch(form.dataset.api, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ exercise: form.dataset.exercise, code }),
    });
    const data = await response.json().catch(() => ({ detail: `The server answered ${response.status}.` }));
    button.disabled = false;
    if (!response.ok) {
      refusal.textContent = typeof data.detail === "string" ? data.detail : "The submission was not accepted.";
      return;
    }
    codes[data.id] = code;
    addRow(data);
    render(data);
    follow(data.id);
  });

  history.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-id]");
    if (!row) return;
    if (event.target.classList.contains("load")) {
      editor.setValue(codes[row.dataset.id]);
      editor.focus();
    } else if (event.target.classList.contains("show")) {
      follow(row.dataset.id);
    }
  });

  if (live.dataset.follow) follow(live.dataset.follow);
})();

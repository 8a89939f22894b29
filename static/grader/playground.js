// "Run without grading" on the exercise page: POST the editor's code, poll the run, show output and figures.
(function () {
  const section = document.getElementById("playground");
  if (!section) return;
  const button = document.getElementById("run-button");
  const output = document.getElementById("run-output");
  const status = output.querySelector(".run-status");
  const stdout = output.querySelector(".run-stdout");
  const error = output.querySelector(".run-error");
  const figures = output.querySelector(".run-figures");
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const runsUrl = section.dataset.start.replace(/exercises\/[^/]+\/runs$/, "runs/");

  function code() {
    const editor = document.querySelector(".CodeMirror");
    return editor && editor.CodeMirror ? editor.CodeMirror.getValue() : document.getElementById("code").value;
  }

  function show(run) {
    const words = { queued: "Running…", ok: "Finished.", error: "Your code raised an error.", stopped: "Stopped at a limit." };
    status.textContent = words[run.status] || run.status;
    stdout.textContent = run.stdout || "";
    stdout.hidden = !run.stdout;
    error.textContent = run.message ? run.message + (run.line ? " (line " + run.line + ")" : "") : "";
    error.hidden = !run.message;
    figures.replaceChildren(...(run.figures || []).map(function (uri, i) {
      const img = document.createElement("img");
      img.src = uri;
      img.alt = "Figure " + (i + 1) + " drawn by your code";
      return img;
    }));
  }

  async function follow(id) {
    for (let attempt = 0; attempt < 600; attempt++) {
      const response = await fetch(runsUrl + id, { headers: { Accept: "application/json" } });
      const run = await response.json();
      if (!response.ok) { show({ status: "error", message: run.detail }); return; }
      show(run);
      if (run.status !== "queued") return;
      await new Promise(function (done) { setTimeout(done, 500); });
    }
  }

  button.addEventListener("click", async function () {
    button.disabled = true;
    output.hidden = false;
    show({ status: "queued" });
    try {
      const response = await fetch(section.dataset.start, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ code: code() }),
      });
      const body = await response.json();
      if (response.ok) await follow(body.id); else show({ status: "error", message: body.detail });
    } catch (problem) {
      show({ status: "error", message: "Could not reach the server: " + problem });
    } finally {
      button.disabled = false;
    }
  });
})();

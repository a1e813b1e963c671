// The recruiters' page: one screen per step, state kept by the server (the address names the
// upload or the run, so a reload picks it up), and every value from a file written as text.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  config: null, upload: null, source: "", choices: {}, mapping: null, check: null, run: null, poll: 0,
};
const POLL_MS = 400;

// Build DOM without ever parsing data as HTML: strings become text nodes.
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child != null && child !== false) node.append(child);
  }
  return node;
}

async function api(path, { method = "GET", json, body } = {}) {
  // The header tells the server this request comes from this page: a page of another origin
  // cannot add it without a CORS preflight, which the server never grants.
  const init = { method, credentials: "same-origin", headers: { "X-Importer-Request": "1" } };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new Error("The server does not answer. Is `importer serve` still running?");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
  return data;
}

function showMessage(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

function show(screen) {
  for (const section of document.querySelectorAll("[data-screen]")) {
    section.hidden = section.id !== screen;
  }
  for (const step of document.querySelectorAll(".steps li")) {
    if (step.dataset.step === screen) step.setAttribute("aria-current", "step");
    else step.removeAttribute("aria-current");
  }
}

function go(params) {
  const hash = new URLSearchParams(params).toString();
  if (location.hash.slice(1) === hash) route();
  else location.hash = hash;
}

function restart() {
  history.replaceState(null, "", location.pathname);
  state.upload = null;
  route();
}

const plural = (n, one, many = one + "s") => `${n.toLocaleString()} ${n === 1 ? one : many}`;
const megabytes = (bytes) =>
  bytes < 1048576 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;

function seconds(value) {
  if (value == null) return "";
  if (value < 60) return `${Math.ceil(value)} s`;
  const minutes = Math.round(value / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function cards(container, items) {
  container.replaceChildren(
    ...items.map(([label, value, tone]) =>
      el("div", { class: `card ${tone || ""}` },
        el("span", { class: "value", text: Number(value || 0).toLocaleString() }),
        el("span", { class: "label", text: label }))));
}

function download(text, name, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// -- 1. upload ----------------------------------------------------------------------------

function showUpload() {
  show("upload");
  $("upload-status").textContent = "";
  $("file").value = "";
}

async function uploadFile(file) {
  showMessage("");
  if (!file) return;
  const limit = state.config.max_upload_bytes;
  if (file.size > limit) {
    showMessage(`“${file.name}” is ${megabytes(file.size)}; the most this page takes is ` +
      `${state.config.max_upload}. Split the file, or ask whoever runs the server to raise ` +
      "--max-upload-mb.");
    return;
  }
  const form = new FormData();
  form.append("file", file);
  $("upload-status").textContent = `Uploading and reading “${file.name}”…`;
  try {
    const upload = await api("/api/uploads", { method: "POST", body: form });
    state.upload = upload;
    state.source = "";
    state.choices = {};
    go({ file: upload.id });
  } catch (error) {
    $("upload-status").textContent = "";
    showMessage(`The file could not be used: ${error.message}`);
  }
}

function setUpUpload() {
  const drop = $("drop");
  $("file").addEventListener("change", (event) => uploadFile(event.target.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    uploadFile(event.dataTransfer.files[0]);
  });
}

// -- 2. mapping ----------------------------------------------------------------------------

async function openUpload(id, sheet) {
  const current = state.upload;
  if (!current || current.id !== id || (sheet && current.sheet !== sheet)) {
    const query = sheet ? `?sheet=${encodeURIComponent(sheet)}` : "";
    const upload = await api(`/api/uploads/${encodeURIComponent(id)}${query}`);
    // A reload keeps what "Change the columns" restored; another file or sheet starts afresh.
    if (current && (current.id !== id || current.sheet !== upload.sheet)) state.choices = {};
    if (current && current.id !== id) state.source = "";
    state.upload = upload;
  }
  renderMapping();
}

function mappingRequest() {
  return state.source ? { shipped: state.source } : { columns: state.choices };
}

function targetOf(column) {
  const key = String(column.position);
  return key in state.choices ? state.choices[key] : column.target;
}

function renderMapping() {
  const upload = state.upload;
  show("mapping");
  $("m-file").textContent = `${upload.name} (${megabytes(upload.size)})`;
  const sheetLabel = $("m-sheet-label");
  sheetLabel.hidden = upload.sheets.length < 2;
  $("m-sheet").replaceChildren(...upload.sheets.map((sheet) =>
    el("option", { value: sheet.name, selected: sheet.name === upload.sheet },
      sheet.visible ? sheet.name : `${sheet.name} (hidden)`)));

  $("m-source").replaceChildren(
    el("option", { value: "" }, "Suggested from your columns (change any row below)"),
    ...state.config.mappings.map((name) =>
      el("option", { value: name, selected: name === state.source }, `mappings/${name}.yaml`)));

  const layout = $("m-layout");
  layout.hidden = !upload.layout;
  if (upload.layout) {
    const use = upload.layout.mapping && upload.layout.mapping !== state.source
      ? el("button", { type: "button", class: "secondary small",
        onclick: () => { state.source = upload.layout.mapping; renderMapping(); } },
        `Use mappings/${upload.layout.mapping}.yaml`)
      : null;
    layout.replaceChildren(`Your file ${upload.layout.text}. `, use);
  }
  $("m-intro").textContent = state.source
    ? "A shipped mapping reads the columns marked below and leaves the others out. To choose " +
      "column by column, pick “Suggested from your columns”."
    : "Each column of your file is sent as the field on its right. Change any of them, or " +
      "choose “Leave out” for a column the new system should not receive.";
  $("m-sent").textContent = state.source ? "Used by the mapping" : "Sent as";
  renderColumns(null);
  refreshMapping();
}

function targetSelect(column) {
  const chosen = targetOf(column);
  const select = el("select", {
    "aria-label": `Send “${column.header}” as`,
    "data-position": column.position,
    disabled: !column.mappable,
    onchange: (event) => {
      state.choices[String(column.position)] = event.target.value || null;
      refreshMapping();
    },
  },
  el("option", { value: "", selected: chosen == null }, "Leave out (not sent)"),
  ...state.config.targets.map((target) =>
    el("option", { value: target.key, selected: target.key === chosen }, target.label)));
  return select;
}

function renderColumns(used) {
  const shipped = Boolean(state.source);
  const rows = state.upload.columns.map((column) => {
    const note = column.note && targetOf(column) == null
      ? el("div", { class: "hint", text: `Left out: ${column.note}` })
      : null;
    let sent;
    if (shipped) {
      const reads = used && used.includes(column.position);
      sent = el("span", { class: reads ? "" : "muted" },
        used == null ? "…" : reads ? "read by this mapping" : "not used");
    } else {
      sent = [targetSelect(column), note];
    }
    return el("tr", {},
      el("th", { scope: "row", text: column.header || "(no header)" }),
      el("td", { class: "examples", text: column.examples.join(" · ") }),
      el("td", {}, sent));
  });
  $("m-table").tBodies[0].replaceChildren(...rows);
}

let mappingRound = 0;

async function refreshMapping() {
  const round = ++mappingRound;
  const check = $("m-check");
  check.disabled = true;
  state.mapping = null;
  try {
    const answer = await api(`/api/uploads/${state.upload.id}/mapping`, {
      method: "POST", json: { sheet: state.upload.sheet, mapping: mappingRequest() } });
    if (round !== mappingRound) return;
    state.mapping = answer;
    $("m-yaml").textContent = answer.yaml;
    if (state.source) renderColumns(answer.used);
    const box = $("m-error");
    box.hidden = !answer.error;
    box.textContent = answer.error ? `This mapping cannot be used with this file: ${answer.error}` : "";
    check.disabled = Boolean(answer.error);
  } catch (error) {
    if (round === mappingRound) showMessage(error.message);
  }
}

async function startCheck() {
  showMessage("");
  $("m-check").disabled = true;
  try {
    const job = await api(`/api/uploads/${state.upload.id}/check`, {
      method: "POST", json: { sheet: state.upload.sheet, mapping: mappingRequest() } });
    go({ job: job.id });
  } catch (error) {
    showMessage(error.message);
    $("m-check").disabled = false;
  }
}

function setUpMapping() {
  $("m-sheet").addEventListener("change", (event) =>
    go({ file: state.upload.id, sheet: event.target.value }));
  $("m-source").addEventListener("change", (event) => {
    state.source = event.target.value;
    renderMapping();
  });
  $("m-restart").addEventListener("click", restart);
  $("m-check").addEventListener("click", startCheck);
  $("m-download").addEventListener("click", () => {
    if (!state.mapping) return;
    const stem = state.upload.name.replace(/\.[^.]*$/, "") || "import";
    download(state.mapping.yaml, `${stem}-mapping.yaml`, "application/yaml");
  });
}

// -- jobs: poll until done -----------------------------------------------------------------

async function openJob(id) {
  const poll = ++state.poll;
  for (;;) {
    const job = await api(`/api/jobs/${encodeURIComponent(id)}`);
    if (poll !== state.poll) return;
    if (job.kind === "check") renderCheck(job);
    else renderRun(job);
    if (job.state === "done" || job.state === "failed") return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (poll !== state.poll) return;
  }
}

function fileUrl(job, name) {
  return `/api/jobs/${job.id}/files/${name}`;
}

function backToColumns(job) {
  const request = job.mapping_request || {};
  state.source = request.shipped || "";
  state.choices = request.columns || {};
  const params = { file: job.upload };
  if (job.sheet) params.sheet = job.sheet;
  go(params);
}

// -- 3. check ------------------------------------------------------------------------------

function renderCheck(job) {
  show("check");
  state.check = job;
  const progress = job.progress;
  const status = $("c-status");
  $("c-error").hidden = job.state !== "failed";
  $("c-failed-actions").hidden = job.state !== "failed";
  $("c-result").hidden = job.state !== "done";
  if (job.state === "failed") {
    status.textContent = "";
    $("c-error").textContent = `The file could not be checked: ${job.error}`;
    return;
  }
  if (job.state !== "done") {
    const done = progress ? progress.rows_done : 0;
    status.textContent = `Reading, mapping and validating every row of “${job.file}”… ` +
      `${plural(done, "row")} so far.`;
    return;
  }
  const summary = job.summary;
  const byStatus = summary.by_status;
  const codes = summary.by_error_code;
  const ready = byStatus.not_attempted;
  status.textContent = `Checked all ${plural(summary.rows, "row")} of “${job.file}” with ` +
    `${job.mapping}. Nothing has been sent yet.`;
  cards($("c-counts"), [
    ["rows in the file", summary.rows],
    ["ready to send", ready, "good"],
    ["will be rejected", byStatus.rejected, byStatus.rejected ? "bad" : ""],
    ["duplicates in the file", codes["duplicate-in-file"] || 0, codes["duplicate-in-file"] ? "bad" : ""],
    ["blank rows, skipped", byStatus.skipped],
  ]);
  const reasons = Object.entries(codes).filter(([code]) => code !== "blank-row");
  $("c-codes").replaceChildren(...(reasons.length
    ? ["Rejected by reason: ", ...reasons.flatMap(([code, count], i) =>
      [i ? ", " : "", el("code", { text: code }), ` ${count.toLocaleString()}`])]
    : ["No problems found."]));
  renderPreview(job.preview, summary.rows);
  $("c-rejects").hidden = !byStatus.rejected;
  $("c-rejects").href = fileUrl(job, "rejects.csv");
  const importButton = $("c-import");
  importButton.disabled = !ready;
  importButton.textContent = ready ? `Import ${plural(ready, "candidate")}` : "Nothing to import";
  const stackone = state.config.stackone;
  $("t-stackone").disabled = !stackone;
  $("account").disabled = !stackone;
  $("stackone-note").hidden = stackone;
  if (!$("account").value) $("account").value = state.config.account_id;
}

const STATUS_TEXT = { ready: "ready", rejected: "rejected", skipped: "skipped", unchecked: "not checked" };

function renderPreview(preview, total) {
  const headers = preview.headers;
  const width = headers.length + 2;
  $("c-caption").textContent = `The first ${plural(preview.rows.length, "row")} of ` +
    `${total.toLocaleString()}, each followed by the request it sends or the reason it will ` +
    "not be sent. Cells with a problem are red (point at one to read why).";
  const head = el("tr", {},
    el("th", { text: "Row" }), el("th", { text: "Status" }),
    headers.map((header) => el("th", { text: header || "(no header)" })));
  const rows = preview.rows.flatMap((row) => {
    const byCell = new Map();
    for (const problem of row.problems) {
      for (const position of problem.positions) {
        byCell.set(position, [...(byCell.get(position) || []), problem]);
      }
    }
    const cells = headers.map((_, position) => {
      const problems = byCell.get(position);
      return el("td", {
        class: problems ? "cell bad" : "cell",
        title: problems ? problems.map((p) => `${p.code}: ${p.message}`).join("\n") : null,
        "data-column": position,
      }, row.cells[position] ?? "");
    });
    // One line of JSON with spaces, so that it wraps like text.
    let outcome;
    if (row.body) {
      outcome = ["Sends ", el("code", {
        class: "body", text: JSON.stringify(row.body, null, 1).replace(/\n\s*/g, " ") })];
    } else if (row.status === "rejected") {
      outcome = ["Not sent:", row.problems.map((problem) => el("div", { class: "problem-line" },
        el("code", { text: problem.code }), " ", problem.message))];
    } else {
      outcome = `Skipped: ${row.problems.map((problem) => problem.message).join("; ")}`;
    }
    return [
      el("tr", { class: `data row-${row.status}`, "data-row": row.row_number },
        el("th", { scope: "row", text: row.row_number }),
        el("td", {}, el("span", { class: `badge ${row.status}`, text: STATUS_TEXT[row.status] || row.status })),
        cells),
      el("tr", { class: `outcome row-${row.status}`, "data-outcome": row.row_number },
        el("td", { colspan: width }, el("div", { class: "outcome-text" }, outcome))),
    ];
  });
  $("c-table").replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
}

async function startImport(event) {
  event.preventDefault();
  showMessage("");
  const job = state.check;
  const target = new FormData($("import-form")).get("target");
  const button = $("c-import");
  button.disabled = true;
  try {
    const run = await api(`/api/jobs/${job.id}/import`, {
      method: "POST", json: { target, account_id: $("account").value } });
    go({ job: run.id });
  } catch (error) {
    showMessage(error.message);
    button.disabled = false;
  }
}

function setUpCheck() {
  $("import-form").addEventListener("submit", startImport);
  $("c-back").addEventListener("click", () => backToColumns(state.check));
  $("c-back-failed").addEventListener("click", () => backToColumns(state.check));
  $("account").addEventListener("focus", () => { $("t-stackone").checked = true; });
}

// -- 4. import -----------------------------------------------------------------------------

function renderRun(job) {
  show("run");
  state.run = job;
  const p = job.progress || { rows_done: 0, created: 0, rejected: 0, skipped: 0, not_attempted: 0 };
  const total = job.rows_total ?? p.rows_total;
  const where = job.target === "sandbox"
    ? "the sandbox (a practice server on this computer)"
    : `StackOne, account ${job.account_id}`;
  $("r-where").textContent = `“${job.file}” into ${where}, with ${job.mapping}.`;
  const bar = $("r-bar");
  if (total) {
    bar.max = total;
    bar.value = p.rows_done;
  } else {
    bar.removeAttribute("value");
  }
  const parts = [total ? `${p.rows_done.toLocaleString()} of ${plural(total, "row")}`
    : plural(p.rows_done, "row")];
  if (p.rate) parts.push(`${p.rate.toFixed(1)} rows a second`);
  if (job.state === "running" && p.eta != null) parts.push(`about ${seconds(p.eta)} left`);
  $("r-line").textContent = parts.join(" · ");
  cards($("r-counts"), [
    ["created", p.created, "good"],
    ["rejected", p.rejected, p.rejected ? "bad" : ""],
    ["skipped", p.skipped],
    ["not sent", p.not_attempted],
  ]);
  const stop = $("r-stop");
  const note = $("r-note");
  const live = job.state === "running" || job.state === "stopping";
  stop.hidden = !live;
  const stoppedEarly = job.state === "done" && job.summary.stopped_early;
  $("r-resume").hidden = !(job.state === "failed" || stoppedEarly);
  $("r-resume").disabled = false;
  note.hidden = job.state !== "stopping";
  if (job.state === "stopping") {
    stop.textContent = "Stop now";
    note.textContent = "Stopping: no new rows are sent; the requests already on their way " +
      "finish, then the reports are written. “Stop now” does not wait for them.";
  } else {
    stop.textContent = "Stop";
  }
  $("r-error").hidden = job.state !== "failed";
  $("r-error").textContent = job.state === "failed" ? `The import could not run: ${job.error}` : "";
  const title = $("r-title");
  if (job.state === "done") {
    const s = job.summary;
    const counts = s.by_status;
    const parts = [`${counts.created.toLocaleString()} created`,
      `${counts.rejected.toLocaleString()} rejected`, `${counts.skipped.toLocaleString()} skipped`];
    if (counts.not_attempted) parts.push(`${counts.not_attempted.toLocaleString()} not sent`);
    title.textContent = `${s.stopped_early ? "Stopped" : "Done"}: ${parts.join(", ")}`;
    cards($("r-counts"), [
      ["created", counts.created, "good"],
      ["rejected", counts.rejected, counts.rejected ? "bad" : ""],
      ["skipped", counts.skipped],
      ["not sent", counts.not_attempted],
    ]);
    if (s.stopped_early) {
      const why = s.stop_reason === "interrupted" ? "Stop was pressed" : s.stop_reason;
      note.hidden = false;
      const left = counts.not_attempted;
      note.textContent = `The import stopped early: ${why}. ${plural(left, "row")} not sent ` +
        "yet: Resume sends them, and only them (the rows already created are not sent again). " +
        "remaining.csv lists them, to upload later instead.";
    }
  } else if (job.state === "failed") {
    title.textContent = "The import did not start";
  } else {
    title.textContent = job.state === "stopping" ? "Stopping…" : "Importing…";
  }
  $("r-downloads").hidden = job.state !== "done";
  $("d-remaining-item").hidden = !(job.files || []).includes("remaining.csv");
  $("d-remaining").href = fileUrl(job, "remaining.csv");
  $("d-rejects").href = fileUrl(job, "rejects.csv");
  $("d-results").href = fileUrl(job, "results.csv");
  $("d-summary").href = fileUrl(job, "summary.json");
}

function setUpRun() {
  $("r-stop").addEventListener("click", async () => {
    try {
      renderRun(await api(`/api/jobs/${state.run.id}/stop`, { method: "POST" }));
    } catch (error) {
      showMessage(error.message);
    }
  });
  $("r-resume").addEventListener("click", async () => {
    $("r-resume").disabled = true;
    try {
      const job = await api(`/api/jobs/${state.run.id}/resume`, { method: "POST" });
      renderRun(job);
      await openJob(job.id);
    } catch (error) {
      showMessage(error.message);
      $("r-resume").disabled = false;
    }
  });
  $("r-again").addEventListener("click", restart);
}

// -- routing -------------------------------------------------------------------------------

async function route() {
  state.poll++;
  showMessage("");
  const params = new URLSearchParams(location.hash.slice(1));
  try {
    if (params.has("job")) await openJob(params.get("job"));
    else if (params.has("file")) await openUpload(params.get("file"), params.get("sheet"));
    else showUpload();
  } catch (error) {
    history.replaceState(null, "", location.pathname);
    showUpload();
    showMessage(error.message);
  }
}

async function start() {
  setUpUpload();
  setUpMapping();
  setUpCheck();
  setUpRun();
  try {
    state.config = await api("/api/config");
  } catch (error) {
    showMessage(error.message);
    return;
  }
  $("limit").textContent = state.config.max_upload;
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
}

start();

// The recruiters' page: one screen per step, state kept by the server (the address names the
// upload or the run, so a reload picks it up), and every value from a file written as text.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  config: null, upload: null, source: "", choices: {}, mapping: null, check: null, run: null, poll: 0,
  rows: null,
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
      "the limit.");
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

async function openUpload(id, sheet, headerRow) {
  const current = state.upload;
  if (!current || current.id !== id || (sheet && current.sheet !== sheet) ||
      (headerRow && current.header_row !== Number(headerRow))) {
    const query = new URLSearchParams();
    if (sheet) query.set("sheet", sheet);
    if (headerRow) query.set("header_row", headerRow);
    const upload = await api(`/api/uploads/${encodeURIComponent(id)}?${query}`);
    // A reload keeps what "Change the columns" restored; another file, sheet or header row
    // starts afresh.
    if (current && (current.id !== id || current.sheet !== upload.sheet ||
        current.header_row !== upload.header_row)) state.choices = {};
    if (current && current.id !== id) state.source = "";
    state.upload = upload;
  }
  renderMapping();
}

function mappingRequest() {
  return state.source ? { shipped: state.source } : { columns: state.choices };
}

function readingRequest() {
  const upload = state.upload;
  return { sheet: upload.sheet, header_row: upload.header_row, mapping: mappingRequest() };
}

function uploadParams(id, sheet, headerRow) {
  const params = { file: id };
  if (sheet) params.sheet = sheet;
  if (headerRow) params.header_row = headerRow;
  return params;
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

  const row = upload.header_row;
  const how = upload.header_found ? "found on" : "read from";
  $("m-header-text").textContent = `Column names ${how} row ${row}` + (row > 1
    ? `; ${row === 2 ? "row 1 is" : `rows 1–${row - 1} are`} skipped.` : ".");
  $("m-header-row").value = row;
  const passed = upload.passed_sheets || [];
  $("m-sheet-note").hidden = !passed.length;
  $("m-sheet-note").textContent = passed.length
    ? `${passed.map((name) => `Sheet “${name}”`).join(", ")} has no column that gives a ` +
      `candidate's name, so sheet “${upload.sheet}” is shown. Choose another sheet above if ` +
      "needed."
    : "";

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
      method: "POST", json: readingRequest() });
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
      method: "POST", json: readingRequest() });
    go({ job: job.id });
  } catch (error) {
    showMessage(error.message);
    $("m-check").disabled = false;
  }
}

function setUpMapping() {
  $("m-sheet").addEventListener("change", (event) =>
    go(uploadParams(state.upload.id, event.target.value)));
  $("m-header").addEventListener("submit", (event) => {
    event.preventDefault();
    go(uploadParams(state.upload.id, state.upload.sheet, $("m-header-row").value));
  });
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
  go(uploadParams(job.upload, job.sheet, job.header_row));
}

// -- 3. check ------------------------------------------------------------------------------

const STATUS_TEXT = { ready: "✓ Ready", rejected: "✗ Rejected", skipped: "– Skipped" };
const statusText = (row) =>
  row.status === "ready" && row.warnings.length ? "✓ Ready ⚠" : STATUS_TEXT[row.status] || row.status;
const titleOf = (code) => state.config.codes[code] || code;

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
  const where = job.sheet ? `sheet “${job.sheet}” of “${job.file}”` : `“${job.file}”`;
  status.textContent = `Checked all ${plural(job.checked.counts.rows, "row")} of ${where} with ` +
    `${job.mapping}. Nothing has been sent yet.`;
  renderCounts(job.checked, job.checked.counts.edited_cells);
  renderNotices($("c-notices"), job.summary);
  $("c-rejects").href = fileUrl(job, "rejects.csv");
  $("c-rejects-xlsx").href = fileUrl(job, "rejects.xlsx");
  const stackone = state.config.stackone;
  $("t-stackone").disabled = !stackone;
  $("account").disabled = !stackone;
  $("stackone-note").hidden = stackone;
  if (!$("account").value) $("account").value = state.config.account_id;
  if (!state.rows || state.rows.check !== job.id) {
    state.rows = { check: job.id, show: "all", page: 1 };
    document.querySelector("input[name=show][value=all]").checked = true;
  }
  return loadRows();
}

// What the run says about how it read the file (an encoding it guessed, columns the mapping
// does not read, merged cells): the summary's notices, worded for this page by the server.
function renderNotices(box, summary) {
  const notices = (summary && summary.notices) || [];
  box.hidden = !notices.length;
  box.replaceChildren(...notices.map((notice) => el("li", { text: notice })));
}

// The cards add up: ready + rejected + skipped = rows; duplicates are some of the rejected.
function renderCounts(checked, editedCells) {
  const c = checked.counts;
  const cardsBox = $("c-counts");
  cardsBox.replaceChildren(
    card("rows in the file", c.rows),
    card("ready to send", c.ready, "good", "✓"),
    card("will be rejected", c.rejected, c.rejected ? "bad" : "", "✗",
      c.duplicates ? `of which ${plural(c.duplicates, "duplicate")}` : null),
    card("skipped", c.skipped, "", "–", Object.entries(checked.by_skip)
      .map(([code, count]) => `${count} ${titleOf(code).toLowerCase()}`).join(", ") || null),
    card("of the ready, with warnings", c.warnings, c.warnings ? "warn" : "", "⚠"),
  );
  const reasons = Object.entries(checked.by_code);
  const warnings = Object.entries(checked.by_warning);
  const line = (mark, kind) => ([code, count]) => el("li", {},
    el("span", { class: `mark ${kind}`, "aria-hidden": "true" }, mark),
    ` ${titleOf(code)}: ${plural(count, "row")} `,
    el("code", { class: "code", text: code }));
  $("c-reasons").replaceChildren(...[
    reasons.length
      ? el("ul", { class: "reasons", "aria-label": "Why rows will be rejected" },
        reasons.map(line("!", "bad-mark")))
      : el("p", { class: "good-line" }, "✓ No problems found."),
    warnings.length
      ? el("ul", { class: "reasons", "aria-label": "Warnings: sent, but check these values" },
        warnings.map(line("⚠", "warn-mark")))
      : null,
  ].filter(Boolean));
  $("c-edits-line").textContent = editedCells
    ? `${plural(editedCells, "cell")} changed on this page. The import sends the corrected ` +
      "values; download the corrected file so that your own records match."
    : "No cell changed yet.";
  $("c-corrected").hidden = !editedCells;
  $("c-rejects").hidden = Boolean(editedCells) || !c.rejected;
  $("c-rejects-xlsx").hidden = $("c-rejects").hidden;
  const importButton = $("c-import");
  importButton.disabled = !c.ready;
  importButton.textContent = c.ready ? `Import ${plural(c.ready, "candidate")}` : "Nothing to import";
  updateDownload();
}

function card(label, value, tone = "", icon = "", detail = null) {
  return el("div", { class: `card ${tone}` },
    el("span", { class: "value" }, icon ? el("span", { "aria-hidden": "true" }, `${icon} `) : null,
      Number(value || 0).toLocaleString()),
    el("span", { class: "label", text: label }),
    detail ? el("span", { class: "detail", text: detail }) : null);
}

function updateDownload() {
  if (!state.check) return;
  $("c-download").href = `/api/jobs/${state.check.id}/corrected.${$("c-format").value}`;
}

let rowsRound = 0;

async function loadRows() {
  const round = ++rowsRound;
  const { check, show, page } = state.rows;
  const data = await api(`/api/jobs/${check}/rows?show=${show}&page=${page}`);
  if (round !== rowsRound) return;
  state.rows = { check, show, page: data.page, data };
  renderRows();
}

function renderRows() {
  const data = state.rows.data;
  const first = (data.page - 1) * 50 + 1;
  $("c-page").textContent = data.matching
    ? `Rows ${first.toLocaleString()}–${(first + data.rows.length - 1).toLocaleString()} of ` +
      `${data.matching.toLocaleString()} shown · page ${data.page.toLocaleString()} of ` +
      data.pages.toLocaleString()
    : "No row to show.";
  $("c-prev").disabled = data.page <= 1;
  $("c-next").disabled = data.page >= data.pages;
  const headers = state.check.checked.headers;
  const head = el("tr", {},
    el("th", { scope: "col", class: "sticky-1", text: "Row" }),
    el("th", { scope: "col", class: "sticky-2", text: "Status" }),
    headers.map((header) => el("th", { scope: "col", text: header || "(no header)" })));
  $("c-table").replaceChildren(el("thead", {}, head),
    el("tbody", {}, data.rows.flatMap((row) => rowElements(row, headers))));
}

function rowElements(row, headers) {
  const byCell = new Map();
  const warnedCell = new Map();
  for (const [found, problems] of [[byCell, row.problems], [warnedCell, row.warnings]]) {
    for (const problem of problems) {
      for (const position of problem.positions) {
        found.set(position, [...(found.get(position) || []), problem]);
      }
    }
  }
  const editable = !row.locked;
  const cells = headers.map((header, position) => {
    const problems = byCell.get(position);
    const warned = warnedCell.get(position);
    const original = row.edited[String(position)];
    const value = row.cells[position] ?? "";
    const flagged = [...(problems || []), ...(warned || [])];
    const described = flagged.map((p) => titleOf(p.code));
    if (original !== undefined) described.push(`changed from “${original}”`);
    const tone = problems ? " bad" : warned ? " warn" : "";
    return el("td", {
      class: `cell${tone}${original !== undefined ? " edited" : ""}`,
      "data-column": position,
      tabindex: editable ? (flagged.length ? "0" : "-1") : null,
      title: flagged.length ? flagged.map((p) => `${titleOf(p.code)}: ${p.message}`).join("\n")
        : original !== undefined ? `Changed from “${original}”` : null,
      "aria-label": described.length
        ? `${header || "column " + (position + 1)}: ${value || "empty"} (${described.join("; ")})` : null,
    },
    problems ? el("span", { class: "mark bad-mark", "aria-hidden": "true" }, "!") : null,
    !problems && warned ? el("span", { class: "mark warn-mark", "aria-hidden": "true" }, "⚠") : null,
    original !== undefined ? el("span", { class: "mark edit-mark", "aria-hidden": "true" }, "✎") : null,
    value);
  });
  return [
    el("tr", { class: `data row-${row.status}`, "data-row": row.row_number },
      el("th", { scope: "row", class: "sticky-1", text: row.row_number }),
      el("td", { class: "sticky-2" },
        el("span", { class: `badge ${row.status}`, text: statusText(row) })),
      cells),
    el("tr", { class: `outcome row-${row.status}`, "data-outcome": row.row_number },
      el("td", { colspan: headers.length + 2 }, el("div", { class: "outcome-text" }, outcome(row)))),
  ];
}

function outcome(row) {
  if (row.status === "ready") {
    return [
      row.warnings.map((warning) => el("div", { class: "warning-line" },
        el("span", { class: "mark warn-mark", "aria-hidden": "true" }, "⚠"),
        el("strong", { text: ` ${titleOf(warning.code)}` }), `: ${warning.message} `,
        el("code", { class: "code", text: warning.code }))),
      el("dl", { class: "sends", "aria-label": `Row ${row.row_number} sends` },
        row.sends.map(([label, value]) =>
          el("div", {}, el("dt", { text: label }), el("dd", { text: value })))),
      el("details", { class: "request" }, el("summary", {}, "show request"),
        el("pre", { text: JSON.stringify(row.body, null, 2) })),
    ];
  }
  return row.problems.map((problem) => el("div", { class: "problem-line" },
    el("span", { class: `mark ${row.status === "rejected" ? "bad-mark" : "skip-mark"}`,
      "aria-hidden": "true" }, row.status === "rejected" ? "!" : "–"),
    el("strong", { text: ` ${titleOf(problem.code)}` }), `: ${problem.message} `,
    el("code", { class: "code", text: problem.code })));
}

// -- correcting a cell -----------------------------------------------------------------------

function startEdit(td) {
  if (td.querySelector("input")) return;
  const tr = td.closest("tr");
  const row = Number(tr.dataset.row);
  const position = Number(td.dataset.column);
  const data = state.rows.data.rows.find((r) => r.row_number === row);
  const header = state.check.checked.headers[position] || `column ${position + 1}`;
  const input = el("input", {
    type: "text", value: data.cells[position] ?? "", class: "cell-input",
    "aria-label": `Row ${row}, ${header}`,
  });
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    if (save && input.value !== (data.cells[position] ?? "")) {
      input.disabled = true;
      await saveCell(row, position, input.value);
    } else {
      renderRows();
    }
    focusCell(row, position);
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); finish(true); }
    else if (event.key === "Escape") { event.preventDefault(); finish(false); }
  });
  input.addEventListener("blur", () => finish(true));
  td.replaceChildren(input);
  input.focus();
  input.select();
}

async function saveCell(row, column, value) {
  showMessage("");
  try {
    const answer = await api(`/api/jobs/${state.check.id}/cells`, {
      method: "POST", json: { row, column, value } });
    const fresh = new Map(answer.rows.map((r) => [r.row_number, r]));
    const data = state.rows.data;
    data.rows = data.rows.map((r) => fresh.get(r.row_number) || r);
    state.check.checked = answer.checked;
    renderCounts(answer.checked, answer.edited_cells);
    renderRows();
    const changed = fresh.get(row);
    const notes = [...changed.problems, ...changed.warnings].map((p) => titleOf(p.code));
    $("c-live").textContent = `Row ${row}: ${STATUS_TEXT[changed.status] || changed.status}` +
      (notes.length ? `, ${notes.join(", ")}` : "");
  } catch (error) {
    showMessage(`The change was not saved: ${error.message}`);
    renderRows();
  }
}

function focusCell(row, position) {
  const td = document.querySelector(`tr[data-row="${row}"] td[data-column="${position}"]`);
  if (td) td.focus();
}

// Arrow keys move between cells (one Tab stop per problem), Enter or F2 edits.
function onTableKey(event) {
  const td = event.target.closest("td.cell");
  if (!td || event.target.tagName === "INPUT") return;
  if (event.key === "Enter" || event.key === "F2") {
    event.preventDefault();
    if (td.hasAttribute("tabindex")) startEdit(td);
    return;
  }
  const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  const move = moves[event.key];
  if (!move) return;
  event.preventDefault();
  const rows = [...document.querySelectorAll("#c-table tr.data")];
  const r = rows.indexOf(td.closest("tr")) + move[0];
  const c = Number(td.dataset.column) + move[1];
  const next = rows[r] && rows[r].querySelector(`td[data-column="${c}"][tabindex]`);
  if (next) next.focus();
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
  const table = $("c-table");
  table.addEventListener("click", (event) => {
    const td = event.target.closest("td.cell[tabindex]");
    if (td) startEdit(td);
  });
  table.addEventListener("keydown", onTableKey);
  for (const radio of document.querySelectorAll("input[name=show]")) {
    radio.addEventListener("change", () => {
      state.rows = { check: state.check.id, show: radio.value, page: 1 };
      loadRows().catch((error) => showMessage(error.message));
    });
  }
  const turn = (by) => {
    state.rows = { ...state.rows, page: state.rows.data.page + by };
    loadRows().catch((error) => showMessage(error.message));
  };
  $("c-prev").addEventListener("click", () => turn(-1));
  $("c-next").addEventListener("click", () => turn(1));
  $("c-format").addEventListener("change", updateDownload);
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
  $("d-rejects-xlsx-item").hidden = !(job.files || []).includes("rejects.xlsx");
  $("d-rejects-xlsx").href = fileUrl(job, "rejects.xlsx");
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
    else if (params.has("file")) {
      await openUpload(params.get("file"), params.get("sheet"), params.get("header_row"));
    }
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

// The page of `ocrtool serve`: send one image to POST /v1/read, draw the line boxes over
// it, list the text beside it. Plain DOM code, no framework and nothing fetched from
// elsewhere, so it works offline and needs no build step. Text from the server is only
// ever set as textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "ocrtool-token";

let current = null; // {page, json, name}
let pictureUrl = null;

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function token() {
  return $("token").value.trim();
}

function showTokenField() {
  $("token-label").hidden = false;
}

async function readFile(file) {
  if (!file) return;
  current = null;
  $("copy").disabled = $("download").disabled = true;
  $("lines").replaceChildren();
  $("boxes").replaceChildren();
  showPicture(file);
  setStatus(`Reading ${file.name}…`);

  const form = new FormData($("options"));
  const query = new URLSearchParams();
  for (const [key, value] of form) if (key !== "token" && value) query.set(key, value);
  const body = new FormData();
  body.append("file", file, file.name);
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;

  const started = performance.now();
  let response, text;
  try {
    response = await fetch(`/v1/read?${query}`, { method: "POST", body, headers });
    text = await response.text();
  } catch (err) {
    setStatus(`The server cannot be reached (${err.message}).`, true);
    return;
  }
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).error; } catch (_) { /* not JSON: show as is */ }
    if (response.status === 401) {
      showTokenField();
      message += ": enter the server's token above and drop the image again";
    }
    setStatus(`Error ${response.status}: ${message}`, true);
    return;
  }
  // one JSON object, or JSON Lines (one object per page) for a multi-page file
  const pages = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  show(pages[0], text, file.name);
  const more = pages.length > 1 ? ` (page 1 of ${pages.length} shown)` : "";
  setStatus(`${pages[0].lines.length} lines in ${seconds} s${more}`);
}

function showPicture(file) {
  if (pictureUrl) URL.revokeObjectURL(pictureUrl);
  pictureUrl = URL.createObjectURL(file);
  const stage = $("stage");
  stage.classList.remove("no-picture");
  stage.style.aspectRatio = "";
  $("picture").src = pictureUrl;
  stage.hidden = false;
  $("drop").classList.add("has-image");
}

function show(page, json, fileName) {
  current = { page, json, name: fileName };
  const stage = $("stage");
  // a PDF or TIFF the browser cannot display: keep the boxes on a blank page its size
  if (!$("picture").naturalWidth) {
    stage.classList.add("no-picture");
    stage.style.aspectRatio = `${page.width} / ${page.height}`;
    stage.style.width = "100%";
  }
  const svg = $("boxes");
  svg.setAttribute("viewBox", `0 0 ${page.width} ${page.height}`);
  const list = $("lines");
  page.lines.forEach((line, i) => {
    const poly = document.createElementNS(SVG, "polygon");
    poly.setAttribute("points", line.points.map((p) => p.join(",")).join(" "));
    poly.dataset.index = i;
    const title = document.createElementNS(SVG, "title");
    title.textContent = line.text;
    poly.append(title);
    poly.addEventListener("click", () => select(i, true));
    svg.append(poly);

    const item = document.createElement("li");
    item.dataset.index = i;
    const conf = document.createElement("span");
    conf.className = "conf";
    conf.textContent = `${Math.round(line.confidence * 100)}%`;
    const words = document.createElement("span");
    words.className = "text";
    words.textContent = line.text;
    item.append(conf, words);
    item.addEventListener("click", () => select(i, false));
    list.append(item);
  });
  $("copy").disabled = $("download").disabled = false;
}

function select(index, fromBox) {
  for (const el of document.querySelectorAll(".active")) el.classList.remove("active");
  const poly = $("boxes").querySelector(`polygon[data-index="${index}"]`);
  const item = $("lines").querySelector(`li[data-index="${index}"]`);
  poly.classList.add("active");
  item.classList.add("active");
  (fromBox ? item : poly).scrollIntoView({ block: "nearest", behavior: "smooth" });
}

async function copyText() {
  if (!current) return;
  try {
    await navigator.clipboard.writeText(current.page.text);
  } catch (_) { // no clipboard permission (e.g. plain http on another host)
    const area = document.createElement("textarea");
    area.value = current.page.text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  setStatus("Text copied.");
}

function downloadJson() {
  if (!current) return;
  const blob = new Blob([current.json], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${current.name}.json`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function setUp() {
  const drop = $("drop");
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (stored) { $("token").value = stored; showTokenField(); }
  $("token").addEventListener("change", () => sessionStorage.setItem(TOKEN_KEY, token()));
  $("file").addEventListener("change", (e) => readFile(e.target.files[0]));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    readFile(e.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter") $("file").click(); });
  $("copy").addEventListener("click", copyText);
  $("download").addEventListener("click", downloadJson);
}

setUp();

// Renders /openapi.json as a plain page (no CDN, no framework): each operation with its
// parameters and responses. Uses the token the main page stored, if any.
"use strict";

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function table(headers, rows) {
  const t = el("table");
  const head = el("tr");
  headers.forEach((h) => head.append(el("th", h)));
  t.append(head);
  rows.forEach((cells) => {
    const tr = el("tr");
    cells.forEach((c) => tr.append(el("td", c)));
    t.append(tr);
  });
  return t;
}

function schemaText(s) {
  if (!s) return "";
  let text = s.type || "";
  if (s.enum) text += ` (${s.enum.join(" | ")})`;
  if (s.minimum !== undefined) text += ` [${s.minimum}, ${s.maximum}]`;
  return text;
}

async function main() {
  const root = document.getElementById("api");
  const token = sessionStorage.getItem("ocrtool-token");
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const response = await fetch("/openapi.json", { headers });
  if (!response.ok) {
    root.replaceChildren(el("p", `Cannot load /openapi.json (${response.status}); ` +
      "if the server needs a token, enter it on the main page first."));
    return;
  }
  const doc = await response.json();
  const sections = [el("p", doc.info.description)];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const section = el("section");
      const title = el("h2");
      title.append(el("span", method.toUpperCase(), "method"), ` ${path}`);
      section.append(title, el("p", op.summary));
      if (op.description) section.append(el("p", op.description));
      if (op.parameters && op.parameters.length) {
        section.append(table(["parameter", "type", "description"], op.parameters.map(
          (p) => [p.name, schemaText(p.schema), p.description || ""])));
      }
      if (op.requestBody) {
        section.append(el("p", "Body: " + Object.keys(op.requestBody.content).join(", ")));
      }
      section.append(table(["status", "meaning"], Object.entries(op.responses).map(
        ([code, r]) => [code, r.description])));
      sections.push(section);
    }
  }
  root.replaceChildren(...sections);
}

main();

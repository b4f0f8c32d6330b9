/**
 * The API reference page (`GET /api/docs`): self-contained HTML rendered on the server from the
 * OpenAPI document, with no scripts and nothing fetched from a CDN (collectors often run
 * without internet access).
 */

interface Operation {
  summary?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string }>;
  security?: unknown[];
  "x-required-role"?: string;
}

/** The subset of an OpenAPI document the page reads. */
export interface ApiDocument {
  info: { title: string; version: string; description?: string };
  paths?: Record<string, Record<string, Operation> | undefined>;
  components?: { schemas?: Record<string, unknown> };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function schemaText(schema: unknown): string {
  return escapeHtml(JSON.stringify(schema, null, 2) ?? "");
}

function renderOperation(path: string, method: string, op: Operation): string {
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<li><code>${escapeHtml(p.name)}</code> (${escapeHtml(p.in)}${p.required ? ", required" : ""})</li>`,
    )
    .join("");
  const body = Object.entries(op.requestBody?.content ?? {})
    .map(
      ([type, media]) => `<p>Body <code>${escapeHtml(type)}</code></p><pre>${schemaText(media.schema)}</pre>`,
    )
    .join("");
  const responses = Object.entries(op.responses ?? {})
    .map(
      ([status, response]) =>
        `<li><b>${escapeHtml(status)}</b> ${escapeHtml(response.description ?? "")}</li>`,
    )
    .join("");
  const role = op["x-required-role"] ?? "public";
  const id = `${method}-${path}`.replace(/[^A-Za-z0-9]+/g, "-");
  return `<section class="op" id="${escapeHtml(id)}">
<h3><span class="m ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code>
<span class="role">${escapeHtml(role)}</span></h3>
<p>${escapeHtml(op.summary ?? "")}</p>
${params === "" ? "" : `<p>Parameters</p><ul>${params}</ul>`}${body}
<p>Responses</p><ul>${responses}</ul></section>`;
}

/** Renders the reference page for `doc`. */
export function renderApiReference(doc: ApiDocument): string {
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item ?? {})) {
      const tag = op.tags?.[0] ?? "other";
      const list = byTag.get(tag) ?? [];
      list.push(renderOperation(path, method, op));
      byTag.set(tag, list);
    }
  }
  const sections = [...byTag.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tag, ops]) => `<h2 id="tag-${escapeHtml(tag)}">${escapeHtml(tag)}</h2>${ops.join("\n")}`)
    .join("\n");
  const toc = [...byTag.keys()]
    .sort()
    .map((tag) => `<a href="#tag-${escapeHtml(tag)}">${escapeHtml(tag)}</a>`)
    .join(" · ");
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(
      ([name, schema]) =>
        `<h3 id="schema-${escapeHtml(name)}">${escapeHtml(name)}</h3><pre>${schemaText(schema)}</pre>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} — API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font-family:ui-monospace,monospace}pre{background:#f4f4f4;padding:.5rem;overflow:auto;font-size:13px}
.op{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:4.5rem;font-size:13px;color:#fff;
background:#555;border-radius:3px;text-align:center}.get{background:#2b7}.post{background:#27c}.put{background:#c80}
.patch{background:#a5c}.delete{background:#c33}.role{font-size:12px;color:#666;margin-left:.5rem}
</style></head><body>
<h1>${escapeHtml(doc.info.title)} <small>${escapeHtml(doc.info.version)}</small></h1>
<p>${escapeHtml(doc.info.description ?? "")}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a></p>
<nav>${toc}</nav>
${sections}
<h2>Schemas</h2>
${schemas}
</body></html>`;
}

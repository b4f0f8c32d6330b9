import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { SessionUser } from "./api-types.js";
import { filterSelect } from "./filter-select.js";
import { formatBytes, formatCount, formatTime } from "./format.js";
import { canSubmit, formatWindow, isActive, shortId, tasksDone } from "./job-format.js";
import { JOB_STATUSES, type JobPage, type JobView } from "./job-types.js";
import { jobStyles, progressBar } from "./job-ui.js";
import { LiveFeed } from "./live-feed.js";
import { pageStyles } from "./shared-styles.js";

/** How long job events are gathered before the jobs they name are fetched again. */
const COALESCE_MS = 300;

/** Newest first, as the API lists them (created_at, then id, descending). */
function newestFirst(a: JobView, b: JobView): number {
  return Date.parse(b.created_at) - Date.parse(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * The job list: newest first, filtered by status and to the user's own jobs, one page at a time
 * with older pages appended (`next_before`). Rows are live: each `job.progress` event fetches
 * the job it names again (events are coalesced, so a running job costs a few requests a second
 * at most), and a job submitted elsewhere appears at the top. Analysts and admins get a
 * "New job" link to the form.
 */
@customElement("pf-jobs-page")
export class PfJobsPage extends LitElement {
  static override styles = [
    pageStyles,
    jobStyles,
    css`
      a.button {
        display: inline-flex;
        align-items: center;
        min-block-size: 32px;
        padding: 4px 14px;
        border-radius: 6px;
        background: var(--pf-accent, #2558d6);
        color: var(--pf-surface, #fff);
        font-weight: 500;
        text-decoration: none;
      }
      .live {
        margin-inline-start: auto;
        font-size: 12.5px;
        color: var(--pf-text-muted, #5a6676);
      }
      td a {
        font-weight: 600;
        text-decoration: none;
      }
      .more {
        margin-block-start: 12px;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The logged-in user (the "mine" filter, and whether to offer "New job"). */
  @property({ attribute: false })
  accessor user: SessionUser | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  /** Status selected in the filter; empty for all. */
  @property()
  accessor status = "";

  /** Only the user's own jobs. */
  @property({ type: Boolean })
  accessor mine = false;

  /** Jobs per page (1–500, the API's range). */
  @property({ type: Number, attribute: "page-size" })
  accessor pageSize = 25;

  @state()
  private accessor rows: readonly JobView[] = [];

  @state()
  private accessor nextBefore: string | null = null;

  @state()
  private accessor loadingMore = false;

  @state()
  private accessor moreError = "";

  private readonly feed = new LiveFeed(this, {
    api: () => this.api,
    onMessage: (message) => {
      if (message.type === "job.progress") this.feed.refetch(message.job_id);
    },
    // Look again at the jobs that were still moving.
    onResumed: () => {
      for (const row of this.rows) if (isActive(row.status)) this.feed.refetch(row.id);
    },
    coalesce: { delayMs: COALESCE_MS, flush: (ids) => this.refresh(ids) },
  });

  private readonly firstPage = new Task(this, {
    task: async ([api, status, owner], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const page = await api.request<JobPage>("GET", this.listPath(status, owner, null), { signal });
      this.rows = page.jobs;
      this.nextBefore = page.next_before;
      this.moreError = "";
      return page;
    },
    args: () => [this.api, this.status, this.owner(), this.pageSize] as const,
    // The feed opens once a list loaded: the session is good then, and events have rows to update.
    onComplete: () => this.feed.open(),
  });

  /** Fetches the first page again. */
  reload(): void {
    void this.firstPage.run();
  }

  private owner(): string {
    return this.mine ? (this.user?.username ?? "") : "";
  }

  private listPath(status: string, owner: string, before: string | null): string {
    const limit = Math.min(500, Math.max(1, Math.floor(this.pageSize) || 25));
    const query = new URLSearchParams({ limit: String(limit) });
    if (status !== "") query.set("status", status);
    if (owner !== "") query.set("owner", owner);
    if (before !== null) query.set("before", before);
    return `/jobs?${query}`;
  }

  /** Fetches the named jobs again and puts them in the list (new ones at the top). */
  private async refresh(ids: ReadonlySet<string>): Promise<void> {
    const api = this.api;
    if (api === undefined) return;
    const fresh = await Promise.all(
      [...ids].map((id) =>
        // A job deleted meanwhile, or a network blip: the row keeps its last state.
        api.request<JobView>("GET", `/jobs/${encodeURIComponent(id)}`).catch(() => undefined),
      ),
    );
    const rows = [...this.rows];
    const newest = rows[0];
    const owner = this.owner();
    for (const job of fresh) {
      if (job === undefined) continue;
      const { tasks: _tasks, ...row } = job;
      const at = rows.findIndex((r) => r.id === row.id);
      if (at >= 0) rows[at] = row;
      else if (
        (this.status === "" || row.status === this.status) &&
        (owner === "" || row.owner === owner) &&
        (newest === undefined || newestFirst(row, newest) <= 0)
      ) {
        rows.push(row);
      }
    }
    this.rows = rows.sort(newestFirst);
  }

  private async loadMore(): Promise<void> {
    const api = this.api;
    if (api === undefined || this.nextBefore === null) return;
    this.loadingMore = true;
    this.moreError = "";
    try {
      const page = await api.request<JobPage>(
        "GET",
        this.listPath(this.status, this.owner(), this.nextBefore),
      );
      const known = new Set(this.rows.map((r) => r.id));
      this.rows = [...this.rows, ...page.jobs.filter((j) => !known.has(j.id))];
      this.nextBefore = page.next_before;
    } catch (error) {
      this.moreError = errorMessage(error);
    } finally {
      this.loadingMore = false;
    }
  }

  protected override render(): unknown {
    return html`
      <div class="title">
        <h1 id="page-title">Jobs</h1>
        ${canSubmit(this.user) ? html`<div class="actions"><a class="button" href="#/jobs/new">New job</a></div>` : nothing}
      </div>
      <p class="summary">Packet retrieval jobs: submit, follow and download results.</p>
      <section class="panel" aria-labelledby="page-title">
        ${this.renderToolbar()}
        ${this.firstPage.render({
          pending: () => html`<p class="muted">Loading jobs…</p>`,
          complete: () => this.renderRows(),
          error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
        })}
      </section>
    `;
  }

  private renderToolbar(): unknown {
    return html`<div class="toolbar">
      ${filterSelect({
        label: "Status",
        anyLabel: "Any status",
        values: JOB_STATUSES,
        value: this.status,
        onChange: (value) => {
          this.status = value;
        },
      })}
      <label class="check">
        <input
          type="checkbox"
          .checked=${this.mine}
          @change=${(e: Event) => {
            this.mine = (e.target as HTMLInputElement).checked;
          }}
        />
        Only my jobs
      </label>
      <button type="button" @click=${() => this.reload()}>Refresh</button>
      <span class="live" role="status">Updates: ${this.feed.state}</span>
    </div>`;
  }

  private renderRows(): unknown {
    if (this.rows.length === 0) {
      const filtered = this.status !== "" || this.mine;
      return html`<p class="muted">${filtered ? "No job matches the filters." : "No jobs yet."}</p>`;
    }
    return html`<div class="scroll">
        <table aria-label="Jobs">
          <thead>
            <tr>
              <th>Job</th>
              <th>Status</th>
              <th>Progress</th>
              <th class="num">Result</th>
              <th>Owner</th>
              <th>Window</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            ${this.rows.map((job) => this.renderRow(job))}
          </tbody>
        </table>
      </div>
      ${
        this.nextBefore === null
          ? nothing
          : html`<div class="more">
            <button type="button" ?disabled=${this.loadingMore} @click=${this.loadMore}>
              ${this.loadingMore ? "Loading…" : "Load older jobs"}
            </button>
          </div>`
      }
      ${this.moreError === "" ? nothing : html`<p class="notice error" role="alert">${this.moreError}</p>`}`;
  }

  private renderRow(job: JobView): unknown {
    const result = job.result;
    return html`<tr data-job=${job.id}>
      <td>
        <a href="#/jobs/${job.id}" class="mono">${shortId(job.id)}</a>
        ${job.description === "" ? nothing : html`<div class="muted">${job.description}</div>`}
      </td>
      <td><span class="pill" data-status=${job.status}>${job.status}</span></td>
      <td>
        <div class="progress">
          ${progressBar(job.progress, job.status, `Progress of job ${shortId(job.id)}`)}
          <span class="muted">${tasksDone(job.task_counts)}</span>
        </div>
      </td>
      <td class="num nowrap">
        ${
          result === null
            ? html`<span class="muted">—</span>`
            : html`${formatBytes(result.bytes)}
              <div class="muted">${formatCount(result.packets)} packets${result.truncated ? " (capped)" : ""}</div>`
        }
      </td>
      <td>${job.owner}</td>
      <td class="nowrap">${formatWindow(job, this.timeZone)}</td>
      <td class="nowrap">${formatTime(job.created_at, this.timeZone)}</td>
    </tr>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-page": PfJobsPage;
  }
}

import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { SessionUser } from "./api-types.js";
import { formatBytes, formatCount, formatPercent, formatTime } from "./format.js";
import { saveDownload } from "./job-download.js";
import {
  canCancel,
  canDownload,
  conversationOf,
  formatWindow,
  hasResult,
  isActive,
  shortId,
  tasksDone,
} from "./job-format.js";
import type { JobView, TaskView } from "./job-types.js";
import { hashCell, jobStyles, progressBar } from "./job-ui.js";
import { LiveFeed } from "./live-feed.js";
import type { PfConfirmDialog } from "./pf-confirm-dialog.js";
import { toast } from "./pf-toasts.js";
import { pageStyles } from "./shared-styles.js";
import "./pf-confirm-dialog.js";
import "./pf-jobs-analysis.js";
import "./pf-jobs-tasks.js";

/** How long job events are gathered before the job is fetched again. */
const COALESCE_MS = 250;
/** Key of the merged result's download in `downloading` (task downloads use the task id). */
const MERGED = "merged";

/**
 * One job: status, window, effective filter and conversation, the sensors it went to and why,
 * the task table, the merged result (download, SHA-256 with copy) and, once the job has a
 * result, its analysis. Updates live: every `job.progress` event of this job fetches it again
 * (coalesced). Analysts download the merged PCAP and each sensor's slice; the owner or an admin
 * can cancel a job that has not finished, after confirming.
 */
@customElement("pf-jobs-detail")
export class PfJobsDetail extends LitElement {
  static override styles = [
    pageStyles,
    jobStyles,
    css`
      .grid {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(340px, 1fr));
        gap: 0 20px;
      }
      .routing {
        margin: 0;
        padding-inline-start: 18px;
      }
      dd .mono {
        word-break: break-all;
      }
    `,
  ];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The logged-in user (what they may do with the job). */
  @property({ attribute: false })
  accessor user: SessionUser | undefined;

  /** Id of the job shown. */
  @property({ attribute: "job-id" })
  accessor jobId = "";

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  @state()
  private accessor job: JobView | undefined;

  @state()
  private accessor downloading = "";

  @state()
  private accessor downloadProgress = "";

  @query("pf-confirm-dialog")
  private accessor confirmDialog: PfConfirmDialog | null = null;

  private readonly feed = new LiveFeed(this, {
    api: () => this.api,
    onMessage: (message) => {
      if (message.type === "job.progress" && message.job_id === this.job?.id)
        this.feed.refetch(message.job_id);
    },
    onResumed: () => this.feed.refetch(this.jobId),
    coalesce: { delayMs: COALESCE_MS, flush: () => this.refresh() },
  });

  private readonly load = new Task(this, {
    task: async ([api, id], { signal }) => {
      if (api === undefined || id === "") throw new Error("no job selected");
      this.job = undefined;
      const job = await api.request<JobView>("GET", `/jobs/${encodeURIComponent(id)}`, { signal });
      this.job = job;
      return job;
    },
    args: () => [this.api, this.jobId] as const,
    onComplete: () => this.feed.open(),
  });

  constructor() {
    super();
    this.addEventListener("task-download", (event) => void this.downloadTask(event.detail.task));
  }

  private async refresh(): Promise<void> {
    const api = this.api;
    const id = this.job?.id;
    if (api === undefined || id === undefined) return;
    try {
      const job = await api.request<JobView>("GET", `/jobs/${encodeURIComponent(id)}`);
      if (job.id === this.job?.id) this.job = job;
    } catch {
      // A blip: the next event (or a reconnect) fetches again; the page keeps the last state.
    }
  }

  private async download(path: string, key: string, fallbackName: string): Promise<void> {
    const api = this.api;
    if (api === undefined || this.downloading !== "") return;
    this.downloading = key;
    this.downloadProgress = "";
    try {
      const saved = await saveDownload(api, path, fallbackName, (received, total) => {
        this.downloadProgress =
          total === null ? formatBytes(received) : formatPercent((100 * received) / total);
      });
      if (saved !== null) toast(this, "success", `Saved ${saved.filename} (${formatBytes(saved.bytes)}).`);
    } catch (error) {
      toast(this, "error", `Download failed: ${errorMessage(error)}`);
    } finally {
      this.downloading = "";
    }
  }

  private downloadMerged(job: JobView): Promise<void> {
    const ext = job.result?.format ?? "pcap";
    return this.download(`/jobs/${job.id}/pcap`, MERGED, `pcapfleet-${shortId(job.id)}.${ext}`);
  }

  private downloadTask(task: TaskView): Promise<void> {
    const id = this.job?.id ?? this.jobId;
    return this.download(
      `/jobs/${id}/tasks/${task.id}/pcap`,
      task.id,
      `pcapfleet-${shortId(id)}-${task.sensor}.pcap`,
    );
  }

  private async cancel(job: JobView): Promise<void> {
    const api = this.api;
    if (api === undefined) return;
    const answer = await this.confirmDialog?.ask({
      title: `Cancel job ${shortId(job.id)}?`,
      message: "Sensors still reading stop at once and the job ends as cancelled. This cannot be undone.",
      confirmLabel: "Cancel job",
      cancelLabel: "Keep it running",
      danger: true,
    });
    if (answer === null || answer === undefined) return;
    try {
      this.job = await api.request<JobView>("DELETE", `/jobs/${encodeURIComponent(job.id)}`);
      toast(this, "success", `Job ${shortId(job.id)} cancelled.`);
    } catch (error) {
      toast(this, "error", errorMessage(error));
      await this.refresh();
    }
  }

  protected override render(): unknown {
    const back = html`<a class="back" href="#/jobs">← All jobs</a>`;
    const job = this.job;
    if (job !== undefined) return html`${back}${this.renderJob(job)}<pf-confirm-dialog></pf-confirm-dialog>`;
    return html`${back}
      ${this.load.render({
        pending: () => html`<h1>Job ${shortId(this.jobId)}</h1><p class="muted">Loading…</p>`,
        error: (error) =>
          html`<h1>Job ${shortId(this.jobId)}</h1><p class="notice error" role="alert">${errorMessage(error)}</p>`,
      })}`;
  }

  private renderJob(job: JobView): unknown {
    const tz = this.timeZone;
    const conversation = conversationOf(job);
    return html`
      <div class="title">
        <h1>Job <span class="mono">${shortId(job.id)}</span></h1>
        <span class="pill" data-status=${job.status} id="job-status">${job.status}</span>
        <div class="actions">
          ${
            canDownload(this.user, job)
              ? html`<button type="button" class="primary" ?disabled=${this.downloading !== ""} @click=${() => this.downloadMerged(job)}>
                ${this.downloading === MERGED ? `Saving ${this.downloadProgress}` : "Download PCAP"}
              </button>`
              : nothing
          }
          ${
            canCancel(this.user, job)
              ? html`<button type="button" class="danger" @click=${() => this.cancel(job)}>Cancel job</button>`
              : nothing
          }
        </div>
      </div>
      <p class="summary">${job.description === "" ? "No description." : job.description}</p>
      ${job.error_message === null ? nothing : html`<p class="notice ${job.status === "failed" ? "error" : ""}" role="note">${job.error_message}</p>`}
      <div class="grid">
        <section class="panel" aria-labelledby="job-title">
          <h2 id="job-title">Request</h2>
          <dl>
            <dt>Window</dt>
            <dd>${formatWindow(job, tz)}</dd>
            ${conversation === "" ? nothing : html`<dt>Conversation</dt><dd>${conversation}</dd>`}
            <dt>Effective filter</dt>
            <dd>${job.effective_filter === "" ? html`<span class="muted">every packet</span>` : html`<span class="mono">${job.effective_filter}</span>`}</dd>
            <dt>Max size</dt>
            <dd>${formatBytes(job.max_bytes)}</dd>
            <dt>Owner</dt>
            <dd>${job.owner}</dd>
            <dt>Created</dt>
            <dd>${formatTime(job.created_at, tz)}</dd>
            ${job.scheduled_at === null ? nothing : html`<dt>Scheduled</dt><dd>${formatTime(job.scheduled_at, tz)}</dd>`}
            <dt>Started</dt>
            <dd>${formatTime(job.started_at, tz)}</dd>
            <dt>Finished</dt>
            <dd>${formatTime(job.finished_at, tz)}</dd>
          </dl>
        </section>
        <section class="panel" aria-labelledby="result-title">
          <h2 id="result-title">Result</h2>
          <div class="progress">
            ${progressBar(job.progress, job.status, "Job progress")}
            <span class="muted">${tasksDone(job.task_counts)}${isActive(job.status) ? ` · ${formatPercent(job.progress * 100)}` : ""}</span>
          </div>
          ${this.renderResult(job)}
        </section>
      </div>
      <section class="panel" aria-labelledby="routing-title">
        <h2 id="routing-title">Sensors</h2>
        <ul class="routing">
          ${(job.tasks ?? []).map((t) => html`<li><strong>${t.sensor}</strong>: <span class="muted">${t.routed_by}</span></li>`)}
        </ul>
      </section>
      <pf-jobs-tasks
        .job=${job}
        .user=${this.user}
        .timeZone=${tz}
        .downloading=${this.downloading === MERGED ? "" : this.downloading}
        .progress=${this.downloadProgress}
      ></pf-jobs-tasks>
      ${
        hasResult(job) && job.result !== null
          ? html`<pf-jobs-analysis .api=${this.api} .jobId=${job.id} .revision=${job.result.sha256} .timeZone=${tz}></pf-jobs-analysis>`
          : nothing
      }
    `;
  }

  private renderResult(job: JobView): unknown {
    const r = job.result;
    if (r === null) {
      return html`<p class="muted">${isActive(job.status) ? "No result yet: the job is still running." : "This job has no result."}</p>`;
    }
    return html`<dl>
        <dt>Packets</dt>
        <dd id="result-packets">${formatCount(r.packets)}</dd>
        <dt>Size</dt>
        <dd>${formatBytes(r.bytes)} <span class="muted">(${formatCount(r.bytes)} bytes, ${r.format})</span></dd>
        <dt>SHA-256</dt>
        <dd>${hashCell(this, r.sha256, "the merged result")}</dd>
        <dt>Merged</dt>
        <dd>${formatTime(r.created_at, this.timeZone)}</dd>
      </dl>
      ${r.truncated ? html`<p class="notice" role="note">The result reached the job's max size and was cut short.</p>` : nothing}
      ${
        r.expired_at === null
          ? nothing
          : html`<p class="notice" role="note">Deleted by retention on ${formatTime(r.expired_at, this.timeZone)}; the figures remain.</p>`
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-detail": PfJobsDetail;
  }
}

import { css, html, LitElement, nothing } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { SessionUser } from "./api-types.js";
import { formatBytes, formatCount, formatTime } from "./format.js";
import { canSubmit } from "./job-format.js";
import type { JobView, TaskView } from "./job-types.js";
import { hashCell, jobStyles, progressBar } from "./job-ui.js";
import { pageStyles } from "./shared-styles.js";

/** `detail` of the `task-download` event. */
export interface TaskDownloadDetail {
  /** The task whose capture the user asked for. */
  readonly task: TaskView;
}

/**
 * The tasks of a job, one per sensor: status, error code and message, attempts, progress,
 * bytes and packets, the SHA-256 of its slice (shortened, with copy), and for analysts a
 * download of that sensor's slice as it was received.
 *
 * @fires task-download - `CustomEvent<TaskDownloadDetail>` when a task's Download button is
 *   pressed; the job page does the download (it holds the session and shows progress).
 */
@customElement("pf-jobs-tasks")
export class PfJobsTasks extends LitElement {
  static override styles = [
    pageStyles,
    jobStyles,
    css`
      .error-code {
        font-family: var(--pf-font-mono, monospace);
        font-size: 12px;
      }
    `,
  ];

  /** The job, with its tasks. */
  @property({ attribute: false })
  accessor job: JobView | undefined;

  /** The logged-in user: only analysts and admins get download buttons. */
  @property({ attribute: false })
  accessor user: SessionUser | undefined;

  /** IANA time zone the times are shown in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  /** Id of the task being downloaded, if any (its button shows progress). */
  @property()
  accessor downloading = "";

  /** What the running download has done ("42 %"). */
  @property()
  accessor progress = "";

  protected override render(): unknown {
    const tasks = this.job?.tasks ?? [];
    const downloads = canSubmit(this.user) && this.job?.result?.expired_at == null;
    return html`<section class="panel" aria-labelledby="tasks-title">
      <h2 id="tasks-title">Tasks</h2>
      ${
        tasks.length === 0
          ? html`<p class="muted">No tasks.</p>`
          : html`<div class="scroll">
            <table aria-label="Tasks">
              <thead>
                <tr>
                  <th>Sensor</th>
                  <th>Status</th>
                  <th>Error</th>
                  <th class="num">Attempts</th>
                  <th>Progress</th>
                  <th class="num">Bytes</th>
                  <th class="num">Packets</th>
                  <th>SHA-256</th>
                  ${downloads ? html`<th><span class="muted">PCAP</span></th>` : nothing}
                </tr>
              </thead>
              <tbody>
                ${tasks.map((task) => this.renderTask(task, downloads))}
              </tbody>
            </table>
          </div>`
      }
    </section>`;
  }

  private renderTask(task: TaskView, downloads: boolean): unknown {
    const running = task.status === "running" || task.status === "pending";
    const busy = this.downloading === task.id;
    return html`<tr data-task=${task.id} data-sensor=${task.sensor}>
      <td>
        ${task.sensor}
        <div class="muted">
          ${task.started_at === null ? "not started" : `started ${formatTime(task.started_at, this.timeZone)}`}
        </div>
      </td>
      <td><span class="pill" data-status=${task.status}>${task.status}</span></td>
      <td>
        ${task.error_code === null ? nothing : html`<span class="error-code">${task.error_code}</span>`}
        ${task.error_message === null ? nothing : html`<div class="muted">${task.error_message}</div>`}
        ${
          task.skipped_files.length === 0
            ? nothing
            : html`<div class="muted" title=${task.skipped_files.map((f) => `${f.path}: ${f.reason} ${f.detail}`).join("\n")}>
              ${task.skipped_files.length} unreadable file${task.skipped_files.length === 1 ? "" : "s"} skipped
            </div>`
        }
        ${task.error_code === null && task.error_message === null && task.skipped_files.length === 0 ? html`<span class="muted">—</span>` : nothing}
      </td>
      <td class="num">${formatCount(task.attempts)}</td>
      <td>
        <div class="progress">${progressBar(task.progress, task.status, `Progress of ${task.sensor}`)}</div>
      </td>
      <td class="num nowrap">
        ${running ? html`${formatBytes(task.received_bytes)} <div class="muted">received</div>` : formatBytes(task.bytes)}
        ${task.truncated ? html`<div class="muted">capped</div>` : nothing}
      </td>
      <td class="num">${running ? "—" : formatCount(task.packets)}</td>
      <td>${hashCell(this, task.sha256, task.sensor)}</td>
      ${
        downloads
          ? html`<td>
            ${
              task.status === "complete" && task.sha256 !== null
                ? html`<button
                  type="button"
                  class="small"
                  aria-label="Download the PCAP of ${task.sensor}"
                  ?disabled=${this.downloading !== ""}
                  @click=${() => this.requestDownload(task)}
                >
                  ${busy ? `Saving ${this.progress}` : "Download"}
                </button>`
                : nothing
            }
          </td>`
          : nothing
      }
    </tr>`;
  }

  private requestDownload(task: TaskView): void {
    this.dispatchEvent(
      new CustomEvent<TaskDownloadDetail>("task-download", {
        detail: { task },
        bubbles: true,
        composed: true,
      }),
    );
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-tasks": PfJobsTasks;
  }
  interface HTMLElementEventMap {
    "task-download": CustomEvent<TaskDownloadDetail>;
  }
}

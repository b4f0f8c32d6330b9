import { Task } from "@lit/task";
import { html, LitElement, nothing, type PropertyValues } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { type ApiClient, errorMessage } from "./api-client.js";
import type { Location, SensorSummary, SessionUser } from "./api-types.js";
import { buildJobSpec, inputOfApiMessage, JobFormError, type JobFormValues } from "./job-form.js";
import { detailFields, type FieldMark, jobFormStyles, matchFields, PROBLEM_ID } from "./job-form-fields.js";
import { canSubmit } from "./job-format.js";
import type { JobEstimate, JobSpec, JobView } from "./job-types.js";
import { jobStyles } from "./job-ui.js";
import { toast } from "./pf-toasts.js";
import { pageStyles } from "./shared-styles.js";
import { fromZonedInput, toZonedInput } from "./zoned-time.js";
import "./pf-jobs-estimate.js";

/** Quick picks of the window: label and length in minutes, ending now. */
const QUICK_PICKS: readonly (readonly [string, number])[] = [
  ["Last 15 min", 15],
  ["Last hour", 60],
];

/** An error shown next to the form, and the input it is about (when known). */
interface FormProblem {
  readonly message: string;
  readonly field: string | null;
}

/**
 * The New job form (analysts and admins): the window on the user's wall clock (with quick
 * picks), conversation fields, a tcpdump filter, target sensors and locations, description and
 * a size cap. "Estimate" asks the collector what each target sensor holds of the window and
 * how much the job would return; "Submit job" creates it and opens its page. The collector's
 * refusals (a bad filter comes back with libpcap's message) are shown next to the buttons and
 * stay until the form is sent again.
 */
@customElement("pf-jobs-new")
export class PfJobsNew extends LitElement {
  static override styles = [pageStyles, jobStyles, jobFormStyles];

  /** The API client of the session. */
  @property({ attribute: false })
  accessor api: ApiClient | undefined;

  /** The logged-in user; viewers are told they cannot submit. */
  @property({ attribute: false })
  accessor user: SessionUser | undefined;

  /** IANA time zone the window is entered in. */
  @property({ attribute: "time-zone" })
  accessor timeZone = "UTC";

  @state()
  private accessor from = "";

  @state()
  private accessor to = "";

  @state()
  private accessor problem: FormProblem | null = null;

  @state()
  private accessor estimate: JobEstimate | null = null;

  @state()
  private accessor estimateStale = false;

  @state()
  private accessor busy: "estimate" | "submit" | null = null;

  private readonly targets = new Task(this, {
    task: async ([api], { signal }) => {
      if (api === undefined) throw new Error("not logged in");
      const [sensors, locations] = await Promise.all([
        api.request<{ sensors: SensorSummary[] }>("GET", "/sensors", { signal }),
        api.request<{ locations: Location[] }>("GET", "/locations", { signal }),
      ]);
      return { sensors: sensors.sensors, locations: locations.locations };
    },
    args: () => [this.api] as const,
  });

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.from === "") this.pick(15);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The preferences (and so the zone) may arrive after the form opened: keep the same
    // instants, shown on the new wall clock.
    const previous = changed.get("timeZone");
    if (previous !== undefined && previous !== this.timeZone) {
      const move = (value: string): string => {
        const ms = fromZonedInput(value, previous);
        return Number.isNaN(ms) ? value : toZonedInput(ms, this.timeZone);
      };
      this.from = move(this.from);
      this.to = move(this.to);
    }
  }

  /** Sets the window to the last `minutes` minutes, on the user's wall clock. */
  private pick(minutes: number): void {
    const now = Date.now();
    this.from = toZonedInput(now - minutes * 60_000, this.timeZone);
    this.to = toZonedInput(now, this.timeZone);
    this.changed();
  }

  private changed(): void {
    if (this.estimate !== null) this.estimateStale = true;
  }

  private values(): JobFormValues {
    const form = this.renderRoot.querySelector("form");
    const data = new FormData(form ?? undefined);
    const text = (name: string): string => String(data.get(name) ?? "");
    return {
      from: this.from,
      to: this.to,
      srcIp: text("srcIp"),
      dstIp: text("dstIp"),
      srcPort: text("srcPort"),
      dstPort: text("dstPort"),
      protocol: text("protocol"),
      filter: text("filter"),
      sensors: data.getAll("sensors").map(String),
      locations: data.getAll("locations").map(String),
      description: text("description"),
      maxSize: text("maxSize"),
      maxUnit: text("maxUnit") === "GiB" ? "GiB" : "MiB",
    };
  }

  /** The body of the form, or null with the problem shown. */
  private spec(): JobSpec | null {
    try {
      return buildJobSpec(this.values(), this.timeZone);
    } catch (error) {
      if (!(error instanceof JobFormError)) throw error;
      this.problem = { message: error.message, field: error.field };
      return null;
    }
  }

  private async runEstimate(): Promise<void> {
    const api = this.api;
    const spec = this.spec();
    if (api === undefined || spec === null) return;
    this.busy = "estimate";
    this.problem = null;
    try {
      this.estimate = await api.request<JobEstimate>("POST", "/jobs/estimate", { body: spec });
      this.estimateStale = false;
    } catch (error) {
      this.refused(error);
    } finally {
      this.busy = null;
    }
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const api = this.api;
    const spec = this.spec();
    if (api === undefined || spec === null) return;
    this.busy = "submit";
    this.problem = null;
    try {
      const job = await api.request<JobView>("POST", "/jobs", { body: spec });
      toast(this, "success", `Job ${job.id.slice(0, 8)} submitted.`);
      window.location.hash = `#/jobs/${job.id}`;
    } catch (error) {
      this.refused(error);
    } finally {
      this.busy = null;
    }
  }

  /** Shows the collector's refusal next to the form, marking the input it is about. */
  private refused(error: unknown): void {
    const message = errorMessage(error);
    this.problem = { message, field: inputOfApiMessage(message) };
  }

  protected override render(): unknown {
    const header = html`<a class="back" href="#/jobs">← All jobs</a>
      <h1 id="page-title">New job</h1>
      <p class="summary">
        The packets that match, between two times, from wherever they were captured. Times are in
        ${this.timeZone}.
      </p>`;
    if (!canSubmit(this.user)) {
      return html`${header}<p class="notice" role="note">Submitting jobs needs the analyst role.</p>`;
    }
    return html`${header}
      <section class="panel" aria-labelledby="page-title">
        <form
          aria-label="New job"
          novalidate
          @submit=${this.submit}
          @input=${() => this.changed()}
          @change=${() => this.changed()}
        >
          ${this.renderWindow()} ${matchFields(this.mark)} ${this.renderTargets()} ${detailFields(this.mark)}
          <div class="buttons">
            <button type="button" ?disabled=${this.busy !== null} @click=${this.runEstimate}>
              ${this.busy === "estimate" ? "Estimating…" : "Estimate"}
            </button>
            <button type="submit" class="primary" ?disabled=${this.busy !== null}>
              ${this.busy === "submit" ? "Submitting…" : "Submit job"}
            </button>
          </div>
          ${
            this.problem === null
              ? nothing
              : html`<p class="notice error" role="alert" id=${PROBLEM_ID}>${this.problem.message}</p>`
          }
        </form>
      </section>
      ${
        this.estimate === null
          ? nothing
          : html`<pf-jobs-estimate
            .estimate=${this.estimate}
            .stale=${this.estimateStale}
            .timeZone=${this.timeZone}
          ></pf-jobs-estimate>`
      }`;
  }

  /** How the inputs show the problem: the one it is about is marked and described by it. */
  private readonly mark: FieldMark = (field) =>
    this.problem?.field === field
      ? { invalid: "true", describedBy: PROBLEM_ID }
      : { invalid: "false", describedBy: nothing };

  private renderWindow(): unknown {
    return html`<fieldset>
      <legend>Window</legend>
      <label>
        From
        <input
          name="from"
          type="datetime-local"
          step="1"
          required
          aria-invalid=${this.mark("from").invalid}
          aria-describedby=${this.mark("from").describedBy}
          .value=${this.from}
          @input=${(e: Event) => {
            this.from = (e.target as HTMLInputElement).value;
          }}
        />
      </label>
      <label>
        To
        <input
          name="to"
          type="datetime-local"
          step="1"
          required
          aria-invalid=${this.mark("to").invalid}
          aria-describedby=${this.mark("to").describedBy}
          .value=${this.to}
          @input=${(e: Event) => {
            this.to = (e.target as HTMLInputElement).value;
          }}
        />
      </label>
      ${QUICK_PICKS.map(([label, minutes]) => html`<button type="button" @click=${() => this.pick(minutes)}>${label}</button>`)}
    </fieldset>`;
  }

  private renderTargets(): unknown {
    return html`<fieldset>
      <legend>Targets</legend>
      ${this.targets.render({
        pending: () => html`<p class="muted">Loading sensors…</p>`,
        error: (error) => html`<p class="notice error" role="alert">${errorMessage(error)}</p>`,
        complete: ({ sensors, locations }) => html`
          <div class="picks" role="group" aria-label="Sensors">
            ${
              sensors.length === 0
                ? html`<span class="muted">No sensors have reported yet.</span>`
                : sensors.map(
                    (s) => html`<label class="check">
                      <input type="checkbox" name="sensors" value=${s.name} />
                      ${s.name} <span class="muted">(${s.location}, ${s.status})</span>
                    </label>`,
                  )
            }
          </div>
          <div class="picks" role="group" aria-label="Locations">
            ${locations.map(
              (l) => html`<label class="check">
                <input type="checkbox" name="locations" value=${l.name} />
                location ${l.name} <span class="muted">(${l.sensor_count} sensors)</span>
              </label>`,
            )}
          </div>
        `,
      })}
      <p class="hint muted">
        With none ticked, the job goes to the sensors whose locations see its addresses (the subnet
        map), else to every sensor.
      </p>
    </fieldset>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "pf-jobs-new": PfJobsNew;
  }
}

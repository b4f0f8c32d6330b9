// Network map queries (issue #7, speed): the real `pcapfleet-collector run` on a scratch
// PostgreSQL database holding a week of per-minute subnet summaries from 100 sensors, and each
// network endpoint asked N times over real HTTP (keep-alive, one request at a time), p50/p99.
// Target: under 200 ms for a week of data.
//
// The week: 20 locations × 5 sensors; every sensor, every minute, PREFIXES source and PREFIXES
// destination /24s (default 12 + 12 = 24 rows): half its own site's (each site has 16 /24s), a
// quarter its three peer sites' (replies and requests), a quarter from 200 Internet /24s. Rows are
// written one INSERT per hour of data (generate_series in Postgres, the ingest's upsert shape, so
// the dirty-hour triggers fire as for ingest) into daily partitions made like the partition
// manager's; the collector then starts, rolls the week up and learns the map (timed), and the
// queries run. Also timed: one maintenance run with the current hour's 60 minutes marked (the
// most a steady-state run recomputes; the map re-learned), and what the dirty-hour triggers add
// to an ingest-sized statement (a minute of the 100 sensors' rows), with the triggers on and off.
// Needs DATABASE_URL (a scratch database is created and dropped) and a build (`npm run build`).
// Env: BENCH_NETWORK_RUNS (30), BENCH_NETWORK_PREFIXES (12 per direction), BENCH_NETWORK_DAYS (7).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const COLLECTOR_BIN = join(ROOT, "collector", "bin", "pcapfleet-collector.js");
const RUNS = Number(process.env.BENCH_NETWORK_RUNS ?? 30);
const PREFIXES = Number(process.env.BENCH_NETWORK_PREFIXES ?? 12);
const DAYS = Number(process.env.BENCH_NETWORK_DAYS ?? 7);
const SENSORS = 100;
const LOCATIONS = 20;
const TARGET_MS = 200;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : "–");
const loads = (l) => l.map((x) => x.toFixed(2)).join(" / ");
const n = (x) => Number(x).toLocaleString("en");
const site = (l) => `site-${String(l + 1).padStart(2, "0")}`;
const alive = (proc) => proc.exitCode === null && proc.signalCode === null;

/** One hour of rows for every sensor: `$1` hour start; see the file comment for the shape. */
const hourRows = `INSERT INTO subnet_traffic (location, sensor, minute_start, prefix, direction, bytes, packets)
  SELECT 'site-' || lpad((s / 5 + 1)::text, 2, '0'), 'sensor-' || lpad(s::text, 3, '0'), m, p.prefix, d.dir,
         p.bytes, p.bytes / 700 + 1
    FROM generate_series($1::timestamptz, $1::timestamptz + interval '59 minutes', interval '1 minute') AS m,
         LATERAL (SELECT (extract(epoch FROM m) / 60)::bigint AS mi) AS t,
         generate_series(0, ${SENSORS - 1}) AS s,
         (VALUES ('src'), ('dst')) AS d (dir),
         generate_series(0, ${PREFIXES - 1}) AS k,
         LATERAL (SELECT CASE
           WHEN k < ${PREFIXES / 2} THEN
             ('10.' || (s / 5 + 1) || '.' || ((k + t.mi + s) % 16) || '.0/24')::cidr
           WHEN k < ${(PREFIXES * 3) / 4} THEN
             ('10.' || ((s / 5 + 1 + k % 3) % ${LOCATIONS} + 1) || '.' || ((t.mi * 7 + s + k) % 16) || '.0/24')::cidr
           ELSE ('198.18.' || ((t.mi * 13 + s * 7 + k) % 200) || '.0/24')::cidr
         END AS prefix,
         CASE WHEN k < ${PREFIXES / 2} THEN 20000 ELSE 2000 END + ((s * 31 + t.mi * 17 + k * 13) % 5000) * 10 AS bytes) AS p
  ON CONFLICT (sensor, minute_start, prefix, direction)
  DO UPDATE SET bytes = EXCLUDED.bytes, packets = EXCLUDED.packets, location = EXCLUDED.location`;

/** The ingest's traffic upsert (collector/src/ingest/writer-sql.ts), for the trigger timing. */
const ingestUpsert = `INSERT INTO subnet_traffic (location, sensor, minute_start, prefix, direction, bytes, packets)
  SELECT location, sensor, minute_start, network(prefix), direction, bytes, packets
    FROM json_to_recordset($1::json) AS x(location text, sensor text, minute_start timestamptz,
                                          prefix inet, direction text, bytes bigint, packets bigint)
  ON CONFLICT (sensor, minute_start, prefix, direction)
  DO UPDATE SET bytes = EXCLUDED.bytes, packets = EXCLUDED.packets, location = EXCLUDED.location`;

async function startCollector(databaseUrl, dataDir, password) {
  const config = join(dataDir, "collector.yaml");
  // At start the maintainer rolls the backlog up; after that it stays out of the measurements
  // (its steady-state run is timed on its own below).
  writeFileSync(config, "network:\n  intervalS: 3600\n");
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PCAPFLEET_HTTP_LISTEN: "127.0.0.1:0",
    PCAPFLEET_GRPC_LISTEN: "127.0.0.1:0",
    PCAPFLEET_DATA_DIR: dataDir,
    PCAPFLEET_ADMIN_PASSWORD: password,
    PCAPFLEET_LOG_LEVEL: "warn",
  };
  delete env.REDIS_URL;
  const proc = spawn(process.execPath, [COLLECTOR_BIN, "run", "--config", config], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let tail = "";
  const keep = (chunk) => {
    tail = (tail + chunk).slice(-8192);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const http = /Dashboard: (http:\/\/\S+?)\/?\n/.exec(tail)?.[1];
    if (http !== undefined) return { proc, http };
    if (!alive(proc) || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`collector did not start:\n${tail}`);
    }
    await sleep(50);
  }
}

async function stopCollector(collector) {
  if (collector === undefined || !alive(collector.proc)) return;
  collector.proc.kill("SIGTERM");
  await Promise.race([once(collector.proc, "exit"), sleep(20_000)]);
  if (alive(collector.proc)) collector.proc.kill("SIGKILL");
}

/** Locations with coordinates, 100 sensors, daily partitions for the week, 40 manual entries. */
async function prepare(db, now) {
  for (let l = 0; l < LOCATIONS; l++) {
    await db.query(
      "INSERT INTO locations (name, latitude, longitude) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
      [site(l), 40 + l, -3 + l],
    );
  }
  for (let s = 0; s < SENSORS; s++) {
    await db.query("INSERT INTO sensors (name, location) VALUES ($1, $2)", [
      `sensor-${String(s).padStart(3, "0")}`,
      site(Math.floor(s / 5)),
    ]);
  }
  const today = Math.floor(now / DAY) * DAY;
  for (let d = -DAYS - 1; d <= 1; d++) {
    const day = today + d * DAY;
    const name = `subnet_traffic_p${new Date(day).toISOString().slice(0, 10).replaceAll("-", "")}`;
    const from = new Date(day).toISOString();
    const to = new Date(day + DAY).toISOString();
    await db.query(
      `DO $$ BEGIN IF to_regclass('${name}') IS NULL THEN
         EXECUTE 'CREATE TABLE ${name} PARTITION OF subnet_traffic FOR VALUES FROM (''${from}'') TO (''${to}'')';
       END IF; END $$`,
    );
  }
  // Manual entries outside the generated ranges: the lookup and the learner check them.
  for (let i = 0; i < 40; i++) {
    await db.query("INSERT INTO subnet_location_map (prefix, location, source) VALUES ($1, $2, 'manual')", [
      `172.${16 + (i % 16)}.${i}.0/24`,
      site(i % LOCATIONS),
    ]);
  }
}

async function login(http, password) {
  const response = await fetch(`${http}/api/v1/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
  });
  return (await response.json()).access_token;
}

/** Times `runs` sequential GETs after 3 warm-up ones: sorted ms, body bytes. */
async function timeGet(url, token, runs) {
  const get = async () => {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const body = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`${url}: ${response.status} ${body.slice(0, 300)}`);
    return { ms, bytes: body.length };
  };
  for (let i = 0; i < 3; i++) await get();
  const times = [];
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const { ms, bytes: b } = await get();
    times.push(ms);
    bytes = b;
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
  return { p50: at(0.5), p99: at(0.99), max: times.at(-1), bytes };
}

/** Median ms of `runs` executions of `sql` (each in a transaction rolled back, so nothing stays). */
async function timeStatement(db, sql, params, runs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    await db.query("BEGIN");
    const started = performance.now();
    await db.query(sql, params);
    times.push(performance.now() - started);
    await db.query("ROLLBACK");
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The benchmark module: see the file comment. Returns its Markdown section. */
export default async function networkBench({ log }) {
  const title = "## Network map queries (week of subnet summaries, issue #7)";
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl === undefined || serverUrl === "") {
    log("DATABASE_URL is not set: skipping the network benchmark");
    return `${title}\n\nNot run: needs DATABASE_URL (a real Postgres).`;
  }
  const pg = (await import("pg")).default;
  const { createNetworkMaintainer, networkConfigSchema } = await import("../collector/dist/network/index.js");
  const { createPgDb } = await import("../collector/dist/db/pg.js");
  const { createLogger } = await import("@pcapfleet/core");
  const database = `pcapfleet_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const dataDir = mkdtempSync(join(tmpdir(), "pcapfleet-bench-network-"));
  const password = randomBytes(12).toString("hex");
  const db = new pg.Client({ connectionString: url.toString() });
  let collector;
  try {
    // First start: migrations and the partition manager's own days; then stop and fill the week.
    await stopCollector(await startCollector(url.toString(), dataDir, password));
    await db.connect();
    const now = Date.now();
    await prepare(db, now);
    const firstHour = Math.floor(now / HOUR) * HOUR - DAYS * 24 * HOUR;
    const genLoad = loadavg();
    const genStarted = performance.now();
    for (let h = firstHour; h < Math.floor(now / HOUR) * HOUR; h += HOUR) {
      await db.query(hourRows, [new Date(h).toISOString()]);
    }
    const genSeconds = (performance.now() - genStarted) / 1000;
    await db.query("ANALYZE");
    const counts = (
      await db.query(
        `SELECT (SELECT count(*) FROM subnet_traffic)::bigint AS raw,
                pg_total_relation_size('subnet_traffic_default') AS dflt,
                (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE i.inhparent = 'subnet_traffic'::regclass)::bigint AS bytes`,
      )
    ).rows[0];
    log(`${counts.raw} raw rows (${fmt(counts.bytes / 2 ** 30, 2)} GiB) written in ${fmt(genSeconds, 0)} s`);

    // Second start: the maintainer rolls the week's marked hours up and learns the map.
    const rollLoad = loadavg();
    const rollStarted = performance.now();
    collector = await startCollector(url.toString(), dataDir, password);
    for (;;) {
      const { rows } = await db.query(
        `SELECT (SELECT count(*) FROM subnet_traffic_dirty)::int AS dirty,
                (SELECT count(*) FROM subnet_location_map WHERE source = 'learned')::int AS learned`,
      );
      if (rows[0].dirty === 0 && rows[0].learned > 0) break;
      await sleep(250);
    }
    const rollSeconds = (performance.now() - rollStarted) / 1000;
    await db.query("ANALYZE");
    const sizes = (
      await db.query(
        `SELECT (SELECT count(*) FROM subnet_traffic_hourly)::int AS hourly,
                (SELECT count(*) FROM prefix_traffic_hourly)::int AS prefix_hourly,
                (SELECT count(*) FROM prefix_traffic_daily)::int AS prefix_daily,
                (SELECT count(*) FROM location_traffic_hourly)::int AS location_hourly,
                (SELECT count(*) FROM location_traffic_minutely)::int AS minutely,
                (SELECT count(*) FROM location_flows_hourly)::int AS flows,
                (SELECT count(*) FROM subnet_location_map WHERE source = 'learned')::int AS learned,
                (SELECT count(DISTINCT location) FROM subnet_location_map WHERE source = 'learned'
                   AND prefix <<= '10.0.0.0/8' AND split_part(host(prefix), '.', 2)::int =
                       substr(location, 6)::int)::int AS right_sites,
                (SELECT count(*) FROM subnet_location_map WHERE source = 'learned'
                   AND NOT (prefix <<= '10.0.0.0/8' AND split_part(host(prefix), '.', 2)::int =
                            substr(location, 6)::int))::int AS wrong,
                (SELECT count(*) FROM subnet_location_map WHERE source = 'learned'
                   AND prefix <<= '198.18.0.0/15')::int AS internet_learned`,
      )
    ).rows[0];
    log(`rolled up and learned in ${fmt(rollSeconds, 0)} s: ${JSON.stringify(sizes)}`);

    const token = await login(collector.http, password);
    const api = `${collector.http}/api/v1`;
    const weekFrom = new Date(now - DAYS * DAY).toISOString();
    const to = new Date(now).toISOString();
    const week = `from=${weekFrom}&to=${to}`;
    const endpoints = [
      ["GET /network/traffic (week, by hour)", `/network/traffic?${week}&bucket=hour`],
      ["GET /network/traffic (week, by day)", `/network/traffic?${week}&bucket=day`],
      [
        "GET /network/traffic (week, by hour, one location)",
        `/network/traffic?${week}&bucket=hour&location=site-01`,
      ],
      [
        "GET /network/traffic (6 h, by minute)",
        `/network/traffic?from=${new Date(now - 6 * HOUR).toISOString()}&to=${to}&bucket=minute`,
      ],
      ["GET /network/subnets (week)", `/network/subnets?${week}`],
      ["GET /network/subnets (day)", `/network/subnets?from=${new Date(now - DAY).toISOString()}&to=${to}`],
      ["GET /network/locations (week)", `/network/locations?${week}`],
      ["GET /network/analytics/top-subnets (week)", `/network/analytics/top-subnets?${week}&limit=20`],
      [
        "GET /network/analytics/traffic-over-time (week, by hour, site-01 → site-02)",
        `/network/analytics/traffic-over-time?${week}&bucket=hour&location=site-01&to_location=site-02`,
      ],
      [
        "GET /network/analytics/traffic-over-time (week, by hour, prefix 10.1.0.0/16)",
        `/network/analytics/traffic-over-time?${week}&bucket=hour&prefix=10.1.0.0/16`,
      ],
      [
        "GET /network/lookup (10 addresses, cached)",
        `/network/lookup?address=${Array.from({ length: 10 }, (_, i) => `10.${i + 1}.3.7`).join(",")}`,
      ],
    ];
    const rows = [];
    for (const [name, path] of endpoints) {
      const load = loadavg();
      const t = await timeGet(`${api}${path}`, token, RUNS);
      rows.push({ name, ...t, load });
      log(
        `${name}: p50 ${fmt(t.p50)} ms p99 ${fmt(t.p99)} ms (${fmt(t.bytes / 1024, 0)} KiB), load ${loads(load)}`,
      );
    }

    // Steady state: new rows, then one maintenance run (this process, same code).
    const pool = await createPgDb(url.toString(), { log: createLogger({ name: "bench", level: "silent" }) });
    // The current hour whole (60 minutes of rows): the most a run recomputes, at the end of an hour.
    await db.query(hourRows, [new Date(Math.floor(now / HOUR) * HOUR).toISOString()]);
    const maintainer = createNetworkMaintainer({
      db: pool,
      log: createLogger({ name: "bench", level: "silent" }),
      rule: networkConfigSchema.parse({}),
      intervalS: 60,
      retentionDays: 30,
    });
    const runLoad = loadavg();
    let runMs = 0;
    let report;
    for (let attempt = 0; attempt < 20; attempt++) {
      const runStarted = performance.now();
      report = await maintainer.runOnce();
      runMs = performance.now() - runStarted;
      if (!report.skipped) break;
      await sleep(500);
    }
    await pool.close();
    log(
      `maintenance run after an hour of data: ${fmt(runMs, 0)} ms (${report.hours} hours, skipped ${report.skipped})`,
    );

    // The triggers' share of an ingest-sized statement: a minute of the 100 sensors' rows as the
    // ingest writes them (one JSON parameter, upsert), with the triggers on and off in turns.
    const nextMinute = Math.floor(now / HOUR) * HOUR + HOUR + 60_000;
    const minuteRows = [];
    for (let s = 0; s < SENSORS; s++) {
      for (let k = 0; k < PREFIXES; k++) {
        for (const direction of ["src", "dst"]) {
          minuteRows.push({
            location: site(Math.floor(s / 5)),
            sensor: `sensor-${String(s).padStart(3, "0")}`,
            minute_start: new Date(nextMinute).toISOString(),
            prefix: `10.${Math.floor(s / 5) + 1}.${k}.0/24`,
            direction,
            bytes: 1000 + k,
            packets: 2,
          });
        }
      }
    }
    const trigLoad = loadavg();
    const setTriggers = async (on) => {
      for (const name of ["subnet_traffic_dirty_insert", "subnet_traffic_dirty_update"]) {
        await db.query(`ALTER TABLE subnet_traffic ${on ? "ENABLE" : "DISABLE"} TRIGGER ${name}`);
      }
    };
    const timings = { on: [], off: [] };
    for (let i = 0; i < 15; i++) {
      for (const on of [true, false]) {
        await setTriggers(on);
        timings[on ? "on" : "off"].push(
          await timeStatement(db, ingestUpsert, [JSON.stringify(minuteRows)], 1),
        );
      }
    }
    await setTriggers(true);
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const [withTriggers, withoutTriggers] = [median(timings.on), median(timings.off)];
    log(
      `a minute of rows (${minuteRows.length}): ${fmt(withTriggers)} ms with the triggers, ${fmt(withoutTriggers)} ms without`,
    );

    const met = rows.every((r) => r.p99 < TARGET_MS);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    return [
      title,
      "",
      `The real \`pcapfleet-collector run\` on PostgreSQL (scratch database) with ${DAYS} days of per-minute subnet ` +
        `summaries from ${SENSORS} sensors at ${LOCATIONS} locations: every sensor, every minute, ${PREFIXES} source ` +
        `and ${PREFIXES} destination /24s (half its site's 16, a quarter its 3 peer sites', a quarter from 200 ` +
        `Internet /24s): ${Number(counts.raw).toLocaleString("en")} rows, ${fmt(counts.bytes / 2 ** 30, 2)} GiB with ` +
        `indexes, written in ${fmt(genSeconds, 0)} s (load ${loads(genLoad)} at start). The collector then rolled ` +
        `the week up and learned the map in ${fmt(rollSeconds, 0)} s (load ${loads(rollLoad)} at start). Rollup ` +
        `rows: ${n(sizes.hourly)} per hour × location × direction × prefix, ${n(sizes.prefix_hourly)} per hour × ` +
        `prefix, ${n(sizes.prefix_daily)} per day × prefix, ${n(sizes.location_hourly)} per hour × location × ` +
        `direction, ${n(sizes.minutely)} per minute × location × direction, ${n(sizes.flows)} flows per hour. ` +
        `Learned: ${sizes.learned} entries, ${sizes.learned - sizes.wrong} at their own site (sites with theirs: ` +
        `${sizes.right_sites} of ${LOCATIONS}), ${sizes.wrong} elsewhere, Internet /24s ${sizes.internet_learned}. ` +
        `Machine: ${machine}.`,
      "",
      `Each endpoint ${RUNS} times after 3 warm-up requests, one at a time over keep-alive HTTP with an admin ` +
        "token (latency = request sent → last body byte). A week is `[now - 7 d, now)`, not aligned to days or " +
        "hours: whole days come from a daily level, the other hours from an hourly one, the minutes at the ends " +
        "(by-minute windows) from per-minute rows or the raw table.",
      "",
      `| endpoint | p50 | p99 | max | response | load (1/5/15 min) | p99 < ${TARGET_MS} ms |`,
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...rows.map(
        (r) =>
          `| ${r.name} | ${fmt(r.p50)} ms | ${fmt(r.p99)} ms | ${fmt(r.max)} ms | ${fmt(r.bytes / 1024, 0)} KiB | ` +
          `${loads(r.load)} | ${r.p99 < TARGET_MS ? "yes" : "**no**"} |`,
      ),
      "",
      `All under ${TARGET_MS} ms at p99: ${met ? "yes" : "**no**"}.`,
      "",
      `Steady state: with the current hour's 60 minutes of rows marked (the most a run recomputes, at the end of ` +
        `an hour), one maintenance run (recompute that hour, re-learn the map over 24 h, prune) took ` +
        `${fmt(runMs, 0)} ms (${report.hours} hour${report.hours === 1 ? "" : "s"} recomputed; load ` +
        `${loads(runLoad)}); collectors run it every \`network.intervalS\` (60 s), one at a ` +
        `time. An ingest-sized statement writing a minute of the ${SENSORS} sensors' rows (${minuteRows.length} ` +
        `rows as one JSON parameter, the ingest's upsert) took ${fmt(withTriggers)} ms with the dirty-hour triggers ` +
        `and ${fmt(withoutTriggers)} ms without (medians of 15 each, in turns, each rolled back; load ${loads(trigLoad)}).`,
    ].join("\n");
  } finally {
    await stopCollector(collector);
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

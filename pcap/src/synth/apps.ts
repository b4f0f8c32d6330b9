/**
 * Application models of the generated TCP conversations: HTTPS (ClientHello with SNI, then
 * TLS records), HTTP/1.1 (requests with Host), SSH (banners, key exchange, interactive
 * keystrokes) and MySQL (greeting, login, queries). Each turns into a {@link TcpFlowSpec}.
 */

import { chooseIpv6, type FlowContext, flowLink } from "./flow-context.js";
import { buildHttpRequest, buildHttpResponseHead } from "./http.js";
import type { Prng } from "./prng.js";
import type { TcpFlowSpec, Turn } from "./tcp-flow.js";
import { buildTlsClientHello, buildTlsServerHello } from "./tls.js";

/** The TCP applications the generator models, by server port. */
export const TcpApp = { HTTPS: 443, HTTP: 80, SSH: 22, MYSQL: 3306 } as const;

/** Log-uniform size in [lo, hi]: many small responses, a few large ones, as on real networks. */
function logSize(rng: Prng, lo: number, hi: number): number {
  return Math.round(Math.exp(Math.log(lo) + rng.float() * (Math.log(hi) - Math.log(lo))));
}

const PATHS = [
  "/",
  "/index.html",
  "/api/v1/status",
  "/static/app.js",
  "/images/logo.png",
  "/favicon.ico",
  "/login",
];
const USER_AGENTS = [
  "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
  "curl/8.5.0",
];
const SSH_SERVER_BANNER = Buffer.from("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", "latin1");
const SSH_CLIENT_BANNER = Buffer.from("SSH-2.0-OpenSSH_9.6\r\n", "latin1");

/** Payload bytes of a full TLS 1.3 record: 2^14 of data, the inner content type and a 16-byte tag. */
const TLS_RECORD = 16384 + 1 + 16;

/** A MySQL 8 protocol-10 greeting packet. */
function mysqlGreeting(rng: Prng): Buffer {
  const body = Buffer.concat([
    Buffer.from([10]),
    Buffer.from("8.0.36\0", "latin1"),
    rng.bytes(4),
    Buffer.from(rng.bytes(8).map((b) => 0x21 + (b % 90))),
    Buffer.from([0, 0xff, 0xff, 0xff, 0x02, 0x00, 0xff, 0xdf, 21]),
    Buffer.alloc(10),
    Buffer.from(rng.bytes(12).map((b) => 0x21 + (b % 90))),
    Buffer.from("\0caching_sha2_password\0", "latin1"),
  ]);
  const head = Buffer.from([body.length & 0xff, body.length >>> 8, 0, 0]);
  return Buffer.concat([head, body]);
}

function turn(dir: 0 | 1, bytes: number, prefix: Buffer | null = null): Turn {
  return { dir, bytes: Math.max(bytes, prefix?.length ?? 0), prefix, recordSize: 0 };
}

/** A turn of encrypted TLS records after `prefix`; sized so the last record has a body. */
function tlsTurn(dir: 0 | 1, bytes: number, prefix: Buffer | null = null): Turn {
  const start = prefix?.length ?? 0;
  let total = Math.max(bytes, start + 6);
  const tail = (total - start) % (TLS_RECORD + 5);
  if (tail > 0 && tail <= 5) total += 6 - tail;
  return { dir, bytes: total, prefix, recordSize: TLS_RECORD };
}

/** Picks endpoints and writes the script of a new conversation of application `app`. */
export function tcpFlowSpec(ctx: FlowContext, app: number): TcpFlowSpec {
  const rng = ctx.rng;
  const net = ctx.net;
  const v6 = chooseIpv6(ctx);
  const client = rng.pick(net.hosts);
  const turns: Turn[] = [];
  if (app === TcpApp.HTTPS || app === TcpApp.HTTP) {
    const server = rng.pick(net.servers);
    if (app === TcpApp.HTTPS) {
      const hello = buildTlsClientHello({
        sni: server.name,
        random: rng.bytes(32),
        sessionId: rng.bytes(32),
        keyShare: rng.bytes(32),
      });
      const serverHello = buildTlsServerHello({
        random: rng.bytes(32),
        sessionId: hello.subarray(44, 76),
        keyShare: rng.bytes(32),
      });
      turns.push(turn(0, hello.length, hello));
      turns.push(tlsTurn(1, rng.range(2500, 6000), serverHello), tlsTurn(0, rng.range(64, 160)));
      for (let i = rng.range(1, 3); i > 0; i--) {
        turns.push(tlsTurn(0, rng.range(100, 900)), tlsTurn(1, logSize(rng, 300, 400_000)));
      }
    } else {
      for (let i = rng.range(1, 3); i > 0; i--) {
        const request = buildHttpRequest({
          host: server.name,
          path: rng.pick(PATHS),
          headers: [
            ["User-Agent", rng.pick(USER_AGENTS)],
            ["Accept", "*/*"],
            ["Accept-Encoding", "gzip, deflate"],
            ["Connection", "keep-alive"],
          ],
        });
        const body = logSize(rng, 200, 300_000);
        const head = buildHttpResponseHead({ contentLength: body });
        turns.push(turn(0, request.length, request), turn(1, head.length + body, head));
      }
    }
    return {
      client: v6 ? client.ipv6 : client.ipv4,
      server: v6 ? server.ipv6 : server.ipv4,
      serverPort: app,
      turns,
      link: flowLink(ctx, client, null),
    };
  }
  const server = app === TcpApp.SSH ? net.internalServers[0] : net.internalServers[1];
  const peer = server ?? client;
  if (app === TcpApp.SSH) {
    turns.push(
      turn(1, SSH_SERVER_BANNER.length, SSH_SERVER_BANNER),
      turn(0, SSH_CLIENT_BANNER.length, SSH_CLIENT_BANNER),
      turn(0, rng.range(1400, 1600)),
      turn(1, rng.range(1000, 1200)),
      turn(0, 48),
      turn(1, rng.range(500, 1100)),
      turn(0, 16),
    );
    for (let i = rng.range(5, 40); i > 0; i--)
      turns.push(turn(0, rng.range(36, 100)), turn(1, rng.range(36, 300)));
    if (rng.chance(0.3)) turns.push(turn(rng.chance(0.5) ? 0 : 1, logSize(rng, 10_000, 2_000_000)));
  } else {
    const greeting = mysqlGreeting(rng);
    turns.push(turn(1, greeting.length, greeting), turn(0, rng.range(150, 260)), turn(1, 11));
    for (let i = rng.range(1, 12); i > 0; i--)
      turns.push(turn(0, rng.range(40, 400)), turn(1, logSize(rng, 60, 60_000)));
  }
  return {
    client: v6 ? client.ipv6 : client.ipv4,
    server: v6 ? peer.ipv6 : peer.ipv4,
    serverPort: app,
    turns,
    link: flowLink(ctx, client, peer),
  };
}

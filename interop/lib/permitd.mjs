// The permitd under test (started by interop/run.sh) and its officials'
// API, and the steps every interop test is made of.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the interop tests with make interop (interop/run.sh)`);
  return v;
}

export const base = env('EPERMIT_BASE');
const officer = env('EPERMIT_OFFICER');
const revoker = env('EPERMIT_REVOKER');
const pin = env('EPERMIT_PIN');
const permitCLI = env('EPERMIT_PERMIT');

// The configuration id of the residence permit in the issuer metadata.
export const configurationId = 'epermit_residence_permit';
export const vct = 'urn:epermit:rp:1';

const example = JSON.parse(readFileSync(new URL('../../examples/application-adult-hangzhou.json', import.meta.url), 'utf8'));
const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

// person returns the example application for applicant n (0 to 13,999):
// each n has its own birth date and citizen ID number (GB 11643), since a
// person may hold one permit per city. Each test file uses its own range
// of n, as the files run in parallel against one service.
export function person(n) {
  const day = String(1 + (n % 28)).padStart(2, '0');
  const seq = String((Math.floor(n / 28) % 500) * 2 + 1).padStart(3, '0'); // odd: male
  const body = `110105199208${day}${seq}`;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * weights[i];
  return { ...example, birth_date: `1992-08-${day}`, citizen_id: body + '10X98765432'[sum % 11] };
}

async function call(method, path, token, body) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

// newOffer has applicant n apply and an officer approve, as the demo does,
// and returns the permit record with its credential offer (offer.uri).
export async function newOffer(n) {
  const app = await call('POST', '/v1/applications', undefined, { application: person(n) });
  const p = await call('POST', `/v1/applications/${app.id}/approve`, officer);
  if (!p.offer?.uri?.startsWith('openid-credential-offer://')) throw new Error(`approve: no offer in ${JSON.stringify(p)}`);
  return p;
}

// revoke has a revoker revoke a permit.
export async function revoke(number) {
  return call('POST', `/v1/permits/${number}/revoke`, revoker, { reason: 'interop test' });
}

// permitVerify syncs a verifier cache from the service, then runs
// "permit verify" on a presentation, and returns its JSON verdict.
export async function permitVerify(text, purpose) {
  const dir = mkdtempSync(join(tmpdir(), 'epermit-interop-'));
  try {
    await run(permitCLI, ['verifier', 'sync', '--from', base, '--pin', pin, '--dir', dir]);
    const { stdout } = await run(permitCLI, ['verify', '--cache', dir, '--purpose', purpose, '--json', text], true);
    return JSON.parse(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const execFileP = promisify(execFile);

// run runs a command; with refusalOK, its exit status 1 (a refused
// presentation) is not an error.
async function run(cmd, args, refusalOK = false) {
  try {
    return await execFileP(cmd, args, { timeout: 30_000 });
  } catch (e) {
    if (refusalOK && e.code === 1 && e.stdout) return { stdout: e.stdout };
    throw new Error(`${cmd} ${args[0]}: ${e.message}\n${e.stderr ?? ''}`);
  }
}

// Flow runs the steps of one test as named subtests: the first that fails
// fails the test under its own name, and the steps after it are skipped,
// except those marked independent (checks of what an earlier step got).
export class Flow {
  constructor(t) {
    this.t = t;
    this.failed = '';
  }

  async step(name, fn, { independent = false } = {}) {
    if (this.failed && !independent) {
      await this.t.test(name, { skip: `step "${this.failed}" failed` }, () => {});
      return undefined;
    }
    let out;
    await this.t.test(name, async () => {
      try {
        out = await fn();
      } catch (e) {
        this.failed ||= name;
        throw e;
      }
    });
    return out;
  }
}

// decodeJwtPart decodes the header (0) or payload (1) of a compact JWS.
export function decodeJwtPart(jwt, i) {
  return JSON.parse(Buffer.from(jwt.split('~')[0].split('.')[i], 'base64url').toString('utf8'));
}

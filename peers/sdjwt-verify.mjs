// The OpenWallet Foundation's sd-jwt-js verifying e-permit presentations,
// in-process: node sdjwt-verify.mjs FIXTURE.json. The fixture (written by
// go run ./peers) holds the issuer's public JWK, a signed status list token
// and a presentation per purpose. Each is verified fixture.n times after a
// warm-up, each verification complete: the issuer's signature, the
// disclosures, the KB-JWT (signature with cnf.jwk, sd_hash, nonce) and the
// status of the credential in the status list. The status list comes from
// memory and its signature is checked once, when first seen, as a verifier
// that synced it would (sd-jwt-js would otherwise check it at every
// verification); the library still decodes the list each time, as it is
// built to. It also times the same verification without the status check
// (SDJwtInstance.verify of @sd-jwt/core, which SDJwtVcInstance.verify calls
// before checking the status): a bound that does not depend on how the
// library reads status lists. Prints {purpose: {full, no_status}}, CPU
// nanoseconds per verification.
import { readFileSync } from 'node:fs';
import { createPublicKey, verify } from 'node:crypto';
import { SDJwtInstance } from '@sd-jwt/core';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest } from '@sd-jwt/crypto-nodejs';

const fixture = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuerKey = createPublicKey({ key: fixture.issuer_jwk, format: 'jwk' });

// verifyWithJwk checks a JWS signature (base64url) over data.
function verifyWith(key, data, sig) {
  const hash = key.asymmetricKeyType === 'ec' ? 'sha256' : null;
  return verify(hash, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
}

const checkedLists = new Map(); // status list token -> its signature verified
const sd = new SDJwtVcInstance({
  hasher: digest,
  hashAlg: 'sha-256',
  verifier: (data, sig) => {
    const { kid } = JSON.parse(Buffer.from(data.split('.')[0], 'base64url'));
    return kid === fixture.issuer_jwk.kid && verifyWith(issuerKey, data, sig);
  },
  statusVerifier: (data, sig) => {
    const token = `${data}.${sig}`;
    if (!checkedLists.has(token)) checkedLists.set(token, verifyWith(issuerKey, data, sig));
    return checkedLists.get(token);
  },
  kbVerifier: (data, sig, payload) => verifyWith(createPublicKey({ key: payload.cnf.jwk, format: 'jwk' }), data, sig),
  statusListFetcher: async (uri) => {
    if (uri !== JSON.parse(Buffer.from(fixture.status_list.split('.')[1], 'base64url')).sub) throw new Error(`no status list ${uri}`);
    return fixture.status_list;
  },
});

// cpuPer returns the CPU nanoseconds one call of check takes, after a
// warm-up for the JIT.
async function cpuPer(check) {
  for (let i = 0; i < Math.min(500, fixture.n); i++) await check();
  const c0 = process.cpuUsage();
  for (let i = 0; i < fixture.n; i++) await check();
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / fixture.n;
}

const out = {};
for (const [purpose, presentation] of Object.entries(fixture.presentations)) {
  const options = { requiredClaimKeys: fixture.required[purpose], keyBindingNonce: 'bench-peers-nonce' };
  const full = async () => {
    const v = await sd.verify(presentation, options);
    if (!v.kb || v.payload.status?.status_list?.idx === undefined) throw new Error(`${purpose}: no key binding or status`);
  };
  const noStatus = async () => {
    const v = await SDJwtInstance.prototype.verify.call(sd, presentation, options);
    if (!v.kb) throw new Error(`${purpose}: no key binding`);
  };
  out[purpose] = { full: await cpuPer(full), no_status: await cpuPer(noStatus) };
}
process.stdout.write(JSON.stringify(out) + '\n');

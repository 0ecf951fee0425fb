// @sd-jwt/sd-jwt-vc 0.19.0 reads what permitd issues: it verifies the
// credential with key binding and the status list fetched over HTTP, and
// makes presentations that "permit verify" accepts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { holderKinds, kbNonce, newHolder, verifyWithJwk } from './lib/holder.mjs';
import { issue } from './lib/openid4vc.mjs';
import { base, Flow, newOffer, permitVerify, revoke } from './lib/permitd.mjs';

const block = 200; // applicants 200-299

// issuerKeys fetches the authority's keys from its SD-JWT VC issuer
// metadata, as an independent verifier would.
async function issuerKeys(iss) {
  const slug = new URL(iss).pathname.slice(1);
  const r = await fetch(`${base}/.well-known/jwt-vc-issuer/${slug}`);
  assert.equal(r.status, 200);
  const m = await r.json();
  assert.equal(m.issuer, iss);
  return m.jwks.keys;
}

// sdJwt returns an @sd-jwt/sd-jwt-vc instance that checks issuer
// signatures (credential and status list) with keys, key bindings with the
// credential's cnf.jwk, and signs key bindings with holder. Status lists
// are fetched over HTTP by the library's own fetcher.
function sdJwt(keys, holder) {
  return new SDJwtVcInstance({
    hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt,
    verifier: (data, sig) => {
      const { kid } = JSON.parse(Buffer.from(data.split('.')[0], 'base64url'));
      const jwk = keys.find((k) => k.kid === kid);
      return jwk !== undefined && verifyWithJwk(jwk, data, sig);
    },
    kbVerifier: (data, sig, payload) => verifyWithJwk(payload.cnf.jwk, data, sig),
    kbSigner: holder.sign, kbSignAlg: holder.alg,
  });
}

const now = () => Math.floor(Date.now() / 1000);

holderKinds.forEach((kind, i) => {
  test(`@sd-jwt/sd-jwt-vc verifies the credential with key binding and the status list over HTTP, ${kind} holder key`, async (t) => {
    const f = new Flow(t);
    const holder = newHolder(kind);
    const permit = await f.step("credential offer (officials' API)", () => newOffer(block + 10 * i));
    const credential = (await f.step('credential (through @openid4vc/openid4vci)', () => issue(holder, permit.offer.uri)))?.credential;
    const keys = await f.step('issuer keys from /.well-known/jwt-vc-issuer/SLUG', () => issuerKeys(permit.issuer));
    const sd = sdJwt(keys ?? [], holder);
    const nonce = kbNonce();
    const shown = await f.step('present the residence group with a KB-JWT', () =>
      sd.present(credential, { res: true }, { kb: { payload: { iat: now(), aud: 'https://verifier.example', nonce } } }));
    await f.step('verify: issuer signature, disclosures, key binding, status list fetched over HTTP', async () => {
      const v = await sd.verify(shown, { requiredClaimKeys: ['nm', 'pn', 'res'], keyBindingNonce: nonce });
      assert.equal(v.payload.pn, permit.number);
      assert.ok(v.payload.res?.ra, 'residence address not disclosed');
      assert.equal(v.payload.idn, undefined, 'identity group disclosed without being asked');
      assert.ok(v.kb, 'no key binding');
    });
    await f.step('a KB-JWT for another nonce is refused', () =>
      assert.rejects(sd.verify(shown, { keyBindingNonce: kbNonce() })));
    await f.step("revoke (officials' API)", () => revoke(permit.number));
    await f.step('verify again: the status list fetched over HTTP says revoked', () =>
      assert.rejects(sd.verify(shown, { keyBindingNonce: nonce }), /[Ss]tatus/));
  });

  test(`presentations made by @sd-jwt/sd-jwt-vc are accepted by permit verify, ${kind} holder key`, async (t) => {
    const f = new Flow(t);
    const holder = newHolder(kind);
    const permit = await f.step("credential offer (officials' API)", () => newOffer(block + 10 * i + 5));
    const credential = (await f.step('credential (through @openid4vc/openid4vci)', () => issue(holder, permit.offer.uri)))?.credential;
    const sd = sdJwt([], holder);
    // What each purpose needs (docs/credential-format.md §8): no group for
    // proof of residence, the residence group for public services, the
    // identity group for a police check.
    for (const [purpose, frame] of [['residence-proof', {}], ['public-service', { res: true }], ['police-check', { idn: true }]]) {
      await f.step(`${purpose}: presentation with a KB-JWT accepted`, async () => {
        const shown = await sd.present(credential, frame, { kb: { payload: { iat: now(), aud: 'urn:epermit:any', nonce: kbNonce() } } });
        const v = await permitVerify(shown, purpose);
        assert.deepEqual(v.reasons, []);
        assert.equal(v.valid, true);
        assert.equal(v.holder_bound, true);
        assert.equal(v.fresh, true);
        assert.equal(v.claims.permit_no, permit.number);
      });
    }
    await f.step('a KB-JWT signed by another key is refused', async () => {
      const other = sdJwt([], newHolder(kind));
      const shown = await other.present(credential, { res: true }, { kb: { payload: { iat: now(), aud: 'urn:epermit:any', nonce: kbNonce() } } });
      const v = await permitVerify(shown, 'public-service');
      assert.equal(v.valid, false);
      assert.equal(v.holder_bound, false);
    });
    await f.step('credit-loan: refused whatever the presentation', async () => {
      const shown = await sd.present(credential, {}, { kb: { payload: { iat: now(), aud: 'urn:epermit:any', nonce: kbNonce() } } });
      const v = await permitVerify(shown, 'credit-loan');
      assert.equal(v.valid, false);
      assert.ok(v.reasons.some((r) => r.code === 'purpose_refused'), JSON.stringify(v.reasons));
    });
  });
});

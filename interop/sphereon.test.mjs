// Sphereon's OpenID4VCI client: 0.20.1 (draft 15) and 0.16.0 (draft 13),
// each through its own flow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenID4VCIClientV1_0_15 } from '@sphereon/oid4vci-client';
import { OpenID4VCIClient as OpenID4VCIClientDraft13 } from 'sphereon-oid4vci-client-draft13';
import { holderKinds, newHolder } from './lib/holder.mjs';
import { configurationId, decodeJwtPart, Flow, newOffer, vct } from './lib/permitd.mjs';

const block = 100; // applicants 100-199

// signCallback signs Sphereon's proof JWT with the holder key, its public
// key in the jwk header.
const signCallback = (holder) => async (jwt) => holder.signJwt({ ...jwt.header, alg: holder.alg, jwk: holder.publicJwk }, jwt.payload);

function assertBound(credential, permit, holder) {
  assert.equal(typeof credential, 'string');
  const p = decodeJwtPart(credential, 1);
  assert.equal(p.iss, permit.issuer);
  assert.equal(p.vct, vct);
  assert.equal(p.pn, permit.number);
  for (const m of ['kty', 'crv', 'x', 'y']) assert.equal(p.cnf.jwk[m], holder.publicJwk[m], `cnf.jwk.${m}`);
}

holderKinds.forEach((kind, i) => {
  test(`@sphereon/oid4vci-client 0.20.1 (draft 15): pre-authorized flow, ${kind} holder key`, async (t) => {
    const f = new Flow(t);
    const holder = newHolder(kind);
    const permit = await f.step("credential offer (officials' API)", () => newOffer(block + 10 * i));
    const client = await f.step('offer and metadata (at /SLUG/.well-known/...)', () =>
      OpenID4VCIClientV1_0_15.fromURI({ uri: permit.offer.uri, retrieveServerMetadata: true, alg: holder.alg }));
    await f.step('client sees the issuer and its endpoints', () => {
      assert.equal(client.getIssuer(), permit.issuer);
      assert.ok(client.getCredentialEndpoint().endsWith('/credential'));
      assert.ok(client.getNonceEndpoint()?.endsWith('/nonce'));
    });
    await f.step('token', () => client.acquireAccessToken());
    const response = await f.step(`credential (proof ${holder.alg}, draft-15 request)`, () =>
      client.acquireCredentials({
        credentialConfigurationId: configurationId, format: 'dc+sd-jwt',
        proofCallbacks: { signCallback: signCallback(holder) }, jwk: holder.publicJwk, alg: holder.alg,
      }));
    await f.step('credential bound to the holder key', () => assertBound(response.credentials?.[0]?.credential, permit, holder));
  });

  test(`@sphereon/oid4vci-client 0.16.0 (draft 13): pre-authorized flow, ${kind} holder key`, async (t) => {
    const f = new Flow(t);
    const holder = newHolder(kind);
    const permit = await f.step("credential offer (officials' API)", () => newOffer(block + 10 * i + 5));
    const client = await f.step('offer and metadata', () =>
      OpenID4VCIClientDraft13.fromURI({ uri: permit.offer.uri, retrieveServerMetadata: true, alg: holder.alg }));
    await f.step('token (with c_nonce)', async () => {
      const tok = await client.acquireAccessToken();
      assert.ok(tok.c_nonce, 'no c_nonce in the token response');
    });
    const response = await f.step(`credential (proof ${holder.alg}, draft-13 request: format vc+sd-jwt, vct, proof)`, () =>
      client.acquireCredentials({
        credentialTypes: vct, format: 'vc+sd-jwt',
        proofCallbacks: { signCallback: signCallback(holder) }, jwk: holder.publicJwk, alg: holder.alg,
      }));
    await f.step('draft-13 answer: a top-level credential, bound to the holder key', () => {
      assert.equal(response.credentials, undefined);
      assertBound(response.credential, permit, holder);
    });
  });
});

// @openid4vc/openid4vci 0.4.6 (OpenID4VCI 1.0) through the whole flow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { holderKinds, newHolder } from './lib/holder.mjs';
import { issue, newClient } from './lib/openid4vc.mjs';
import { base, configurationId, decodeJwtPart, Flow, newOffer, vct } from './lib/permitd.mjs';

const block = 0; // applicants 0-99

holderKinds.forEach((kind, i) => {
  test(`@openid4vc/openid4vci: OpenID4VCI 1.0 flow, ${kind} holder key`, async (t) => {
    const f = new Flow(t);
    const holder = newHolder(kind);
    const permit = await f.step("credential offer (officials' API)", () => newOffer(block + 10 * i));
    const r = await issue(holder, permit?.offer?.uri, (name, fn) => f.step(name, fn));

    await f.step('metadata: nonce endpoint, display in Chinese and English, proof algorithms', () => {
      const ci = r.metadata?.credentialIssuer;
      assert.ok(ci, 'no metadata');
      assert.equal(ci.credential_issuer, permit.issuer);
      assert.equal(ci.nonce_endpoint, base + '/nonce');
      assert.deepEqual(ci.display.map((d) => d.locale), ['zh-CN', 'en']);
      const cc = ci.credential_configurations_supported[configurationId];
      assert.equal(cc.format, 'dc+sd-jwt');
      assert.equal(cc.vct, vct);
      assert.deepEqual(cc.credential_metadata.display.map((d) => d.locale), ['zh-CN', 'en']);
      assert.ok(cc.proof_types_supported.jwt.proof_signing_alg_values_supported.includes(holder.alg), `${holder.alg} is not advertised`);
    }, { independent: true });
    await f.step('credential: an SD-JWT VC of this permit, bound to the holder key', () => {
      assert.equal(typeof r.credential, 'string');
      assert.ok(r.credential.endsWith('~'));
      const h = decodeJwtPart(r.credential, 0);
      const p = decodeJwtPart(r.credential, 1);
      assert.equal(h.typ, 'dc+sd-jwt');
      assert.equal(p.iss, permit.issuer);
      assert.equal(p.vct, vct);
      assert.equal(p.pn, permit.number);
      for (const m of ['kty', 'crv', 'x', 'y']) assert.equal(p.cnf.jwk[m], holder.publicJwk[m], `cnf.jwk.${m}`);
    });
    await f.step('a nonce works once: a proof over a used nonce is refused with invalid_nonce', async () => {
      const other = await newOffer(block + 10 * i + 1);
      const client = newClient(holder);
      const offer = await client.resolveCredentialOffer(other.offer.uri);
      const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: offer, issuerMetadata: r.metadata });
      const proof = await client.createCredentialRequestJwtProof({
        issuerMetadata: r.metadata, credentialConfigurationId: configurationId, nonce: r.nonce.c_nonce,
        signer: { method: 'jwk', alg: holder.alg, publicJwk: holder.publicJwk },
      });
      await assert.rejects(
        client.retrieveCredentials({ issuerMetadata: r.metadata, accessToken: token.accessTokenResponse.access_token, credentialConfigurationId: configurationId, proofs: { jwt: [proof.jwt] } }),
        (e) => e.response?.credentialErrorResponseResult?.data?.error === 'invalid_nonce',
      );
    });
  });
});

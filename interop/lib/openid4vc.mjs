// The OpenID4VCI 1.0 flow of @openid4vc/openid4vci (the client under Credo)
// against permitd: offer, metadata, token, nonce, proof, credential.
import { createHash, randomBytes } from 'node:crypto';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2';
import { setGlobalConfig } from '@openid4vc/utils';
import { configurationId } from './permitd.mjs';

// permitd listens on loopback over http: the library refuses http URLs
// unless told otherwise.
setGlobalConfig({ allowInsecureUrls: true });

// newClient returns a client whose JWTs (key proofs) are signed by holder.
export function newClient(holder) {
  return new Openid4vciClient({
    callbacks: {
      hash: (data, alg) => createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
      generateRandom: (n) => randomBytes(n),
      clientAuthentication: clientAuthenticationAnonymous(),
      signJwt: async (_signer, { header, payload }) => ({ jwt: await holder.signJwt(header, payload), signerJwk: holder.publicJwk }),
    },
  });
}

// issue runs the whole flow for an offer URI, each stage through step(name,
// fn) (a Flow's step, or one that just calls fn), and returns what each
// stage produced; credential is the SD-JWT VC.
export async function issue(holder, offerUri, step = named) {
  const client = newClient(holder);
  const r = { client };
  // Each stage needs the one before: once a stage has failed (a Flow step
  // returns undefined), the rest are skipped by the Flow.
  r.offer = await step('resolve the credential offer', () => client.resolveCredentialOffer(offerUri));
  r.metadata = await step('issuer and authorization server metadata', () => client.resolveIssuerMetadata(r.offer.credential_issuer));
  r.token = await step('token (pre-authorized code, anonymous)', () =>
    client.retrievePreAuthorizedCodeAccessTokenFromOffer({ credentialOffer: r.offer, issuerMetadata: r.metadata }));
  r.nonce = await step('nonce endpoint', () => client.requestNonce({ issuerMetadata: r.metadata }));
  r.proof = await step(`key proof (${holder.alg})`, () =>
    client.createCredentialRequestJwtProof({
      issuerMetadata: r.metadata, credentialConfigurationId: configurationId, nonce: r.nonce.c_nonce,
      signer: { method: 'jwk', alg: holder.alg, publicJwk: holder.publicJwk },
    }));
  r.response = await step('credential', () =>
    client.retrieveCredentials({
      issuerMetadata: r.metadata, accessToken: r.token.accessTokenResponse.access_token,
      credentialConfigurationId: configurationId, proofs: { jwt: [r.proof.jwt] },
    }));
  r.credential = r.response?.credentialResponse?.credentials?.[0]?.credential;
  return r;
}

// named runs a stage and names it in its error.
async function named(name, fn) {
  try {
    return await fn();
  } catch (e) {
    throw new Error(`${name}: ${e?.message ?? e}`, { cause: e });
  }
}

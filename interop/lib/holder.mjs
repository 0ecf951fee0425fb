// Wallet device keys: the holder keys the interop tests bind credentials to.
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import * as jose from 'jose';

// holderKinds are the kinds of holder key every holder-bound test runs
// with. P-256 (ES256, the keys of phones' secure hardware) joins Ed25519
// once permitd accepts ES256 proofs: set EPERMIT_HOLDER_KEYS=Ed25519,P-256.
export const holderKinds = (process.env.EPERMIT_HOLDER_KEYS ?? 'Ed25519,P-256').split(',').map((s) => s.trim()).filter(Boolean);

const kinds = {
  Ed25519: { alg: 'EdDSA', generate: () => generateKeyPairSync('ed25519') },
  'P-256': { alg: 'ES256', generate: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
};

// newHolder makes a fresh key of a kind: its JOSE alg, its public JWK, and
// signing of JWS input (base64url signature) and of whole JWTs.
export function newHolder(kind) {
  const k = kinds[kind];
  if (!k) throw new Error(`unknown holder key kind ${kind}: want one of ${Object.keys(kinds).join(', ')}`);
  const { privateKey, publicKey } = k.generate();
  const publicJwk = publicKey.export({ format: 'jwk' });
  return {
    kind,
    alg: k.alg,
    publicJwk,
    // sign signs JWS signing input, as @sd-jwt's Signer does.
    sign: (data) => sign(k.alg === 'ES256' ? 'sha256' : null, Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url'),
    // signJwt signs a JWT with the given header and payload.
    signJwt: (header, payload) => new jose.SignJWT(payload).setProtectedHeader(header).sign(privateKey),
  };
}

// verifyWithJwk checks a JWS signature (base64url) over data with a public
// JWK: Ed25519 or P-256.
export function verifyWithJwk(jwk, data, sig) {
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const hash = jwk.kty === 'EC' ? 'sha256' : null;
  return verify(hash, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
}

// kbNonce is a nonce for a KB-JWT shown without a verifier's challenge:
// 12 random bytes, as e-permit wallets make (docs/credential-format.md §5).
export const kbNonce = () => randomBytes(12).toString('base64url');

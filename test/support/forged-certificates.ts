// Certificates no honest Gatehouse would issue, for the refusal tests: a real client certificate
// re-dated (expired, not yet valid) and re-signed, re-signed by a foreign CA's key under that
// CA's name, or with its route altered (re-signed by another key, or not re-signed at all). The edit is made on the DER itself (forge's generic ASN.1 layer, which keeps OIDs as
// bytes: forge's X.509 layer cannot read Gatehouse's 128-bit route OID), so everything but the
// altered part is the genuine certificate.
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import forge from 'node-forge';
import { ROUTE_EXTENSION_OID_CONTENT, encodeRouteExtension, type RouteToDatabase } from '../../src/ca/route-extension.js';

export interface Forgery {
  /** PEM of the genuine certificate to start from. */
  readonly certPem: string;
  /** PEM key that signs the forgery (the real user CA's, or a foreign one). */
  readonly signingKeyPem: string;
  /** Certificate of the signer, whose subject becomes the issuer. */
  readonly issuerCertPem?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** A new route written into the route extension in place of the genuine one. */
  readonly route?: RouteToDatabase;
  /** Keep the genuine signature over the altered content (a tampered certificate) instead of signing. */
  readonly keepSignature?: boolean;
}

const { asn1 } = forge;

function parse(pem: string): forge.asn1.Asn1 {
  return asn1.fromDer(forge.pem.decode(pem)[0]!.body);
}

function children(node: forge.asn1.Asn1): forge.asn1.Asn1[] {
  return node.value as forge.asn1.Asn1[];
}

function time(date: Date): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));
}

export function forgeCertificate(forgery: Forgery): string {
  const certificate = parse(forgery.certPem);
  const [tbs] = children(certificate);
  const fields = children(tbs!);
  // TBSCertificate: [0] version, serial, signature algorithm, issuer, validity, subject, key, [3] extensions
  const validity = children(fields[4]!);
  if (forgery.notBefore !== undefined) validity[0] = time(forgery.notBefore);
  if (forgery.notAfter !== undefined) validity[1] = time(forgery.notAfter);
  if (forgery.issuerCertPem !== undefined) fields[3] = children(children(parse(forgery.issuerCertPem))[0]!)[5]!;
  if (forgery.route !== undefined) replaceRoute(fields, forgery.route);
  if (forgery.keepSignature === true) return forge.pem.encode({ type: 'CERTIFICATE', body: asn1.toDer(certificate).getBytes() });
  const tbsDer = Buffer.from(asn1.toDer(tbs!).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, createPrivateKey(forgery.signingKeyPem));
  children(certificate)[2] = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\u0000${signature.toString('binary')}`);
  const der = asn1.toDer(certificate).getBytes();
  return forge.pem.encode({ type: 'CERTIFICATE', body: der });
}

/** Replaces the route extension's extnValue (TBSCertificate [3] → Extensions → the route's OCTET STRING). */
function replaceRoute(fields: forge.asn1.Asn1[], route: RouteToDatabase): void {
  const wrapper = fields.find((field) => field.tagClass === asn1.Class.CONTEXT_SPECIFIC && field.type === 3);
  const wanted = Buffer.from(ROUTE_EXTENSION_OID_CONTENT).toString('binary');
  const extension = wrapper === undefined ? undefined : children(children(wrapper)[0]!).find((candidate) => children(candidate)[0]!.value === wanted);
  if (extension === undefined) throw new Error('the certificate has no route extension to alter');
  const parts = children(extension);
  parts[parts.length - 1] = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, Buffer.from(encodeRouteExtension(route)).toString('binary'));
}

/** A self-signed CA that is not Gatehouse's, for "certificate from another CA". */
export function foreignCa(): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  certificate.serialNumber = '01';
  certificate.validity.notBefore = new Date(Date.now() - 60_000);
  certificate.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const subject = [{ name: 'commonName', value: 'Gatehouse user CA' }];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true }]);
  certificate.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(certificate), keyPem };
}

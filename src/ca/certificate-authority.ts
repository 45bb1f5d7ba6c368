// One certificate authority: a self-signed CA certificate and its key, and the two kinds of
// certificate Gatehouse issues with it. The user CA issues client certificates that carry a
// Gatehouse identity (Subject CN = user, O = gatehouse) and, for a database certificate, the route
// extension; without it the certificate is a dbctl identity certificate, good only for the web API
// (the Postgres listener refuses it). The host CA issues server certificates (the proxy's, the
// embedded PostgreSQL's). Certificates are built and signed with node-forge; keys come from
// node:crypto, whose key generation is native. The CAs sign with RSA keys; the keys they certify
// are ECDSA P-256 when Gatehouse generates them, or a client's own RSA or P-256 key (subject-key.ts).
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { ErrorCodes, GatehouseError, SqlState } from '../errors.js';
import { badIdentityText, encodeRouteExtension, ROUTE_EXTENSION_OID_CONTENT, type RouteToDatabase } from './route-extension.js';
import { ACCEPTED_KEYS, generateEcKeyPair, subjectKeyIdentifier, subjectPublicKey, unacceptableKey, type SubjectPublicKey } from './subject-key.js';

const { pki, asn1, md, util } = forge;

export type { RouteToDatabase } from './route-extension.js';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface ClientCertificateRequest {
  user: string;
  /** The database the certificate opens; absent for an identity certificate (dbctl login), which carries no route extension. */
  route?: RouteToDatabase;
  ttlMs: number;
  /** The client's own public key (SPKI PEM): EC P-256, or RSA of 2048 to 8192 bits. Without it a P-256 key pair is generated and returned. */
  publicKeyPem?: string;
}

export interface IssuedClientCertificate {
  certPem: string;
  /** Present when the CA generated the key pair. */
  keyPem?: string;
  notAfter: Date;
}

export interface ServerCertificateRequest {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  ttlMs: number;
}

export const CA_VALIDITY_MS = 10 * 365 * 24 * 60 * 60 * 1000;
/** notBefore is set this far in the past so a client whose clock is a little behind still accepts a new certificate. */
export const CLOCK_SKEW_MS = 60 * 1000;
export const GATEHOUSE_ORGANIZATION = 'gatehouse';
/** The CAs' own keys: RSA, whose signatures every handshake verifies cheaply. */
const CA_RSA_MODULUS_BITS = 2048;

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
/** forge types valueTagClass as an asn1.Class, but reads it as the string's universal tag. */
const UTF8_TAG = asn1.Type.UTF8 as unknown as forge.asn1.Class;
/** subjectPublicKeyInfo's position in the TBSCertificate forge builds (version is always present). */
const SPKI_FIELD_INDEX = 6;

export class CertificateAuthority {
  private constructor(
    private readonly cert: forge.pki.Certificate,
    private readonly key: forge.pki.rsa.PrivateKey,
    private readonly x509: X509Certificate,
    private readonly pair: KeyPairPem,
    private readonly now: () => number,
  ) {}

  /** A new self-signed CA with a new 2048-bit RSA key. */
  static create(commonName: string, validityMs: number = CA_VALIDITY_MS, now: () => number = Date.now): CertificateAuthority {
    checkDuration(validityMs, 'validityMs');
    const keys = generateCaKeyPair();
    const cert = pki.createCertificate();
    cert.publicKey = pki.publicKeyFromPem(keys.publicKeyPem);
    cert.serialNumber = newSerialNumber();
    setValidity(cert, now(), now() + validityMs);
    const name = distinguishedName(commonName);
    cert.setSubject(name);
    cert.setIssuer(name);
    cert.setExtensions([
      { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
      { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    const key = pki.privateKeyFromPem(keys.privateKeyPem);
    cert.sign(key, md.sha256.create());
    return CertificateAuthority.fromPem({ certPem: pki.certificateToPem(cert), keyPem: keys.privateKeyPem }, now);
  }

  /** A CA from its certificate and key, checked: they must belong together and the certificate must be a CA's. */
  static fromPem(pair: KeyPairPem, now: () => number = Date.now): CertificateAuthority {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(pair.certPem);
    } catch (error) {
      throw caInvalid(`the CA certificate cannot be parsed: ${messageOf(error)}`);
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pair.keyPem);
    } catch (error) {
      throw caInvalid(`the private key of CA "${subjectOf(x509)}" cannot be parsed: ${messageOf(error)}`);
    }
    if (privateKey.asymmetricKeyType !== 'rsa') {
      throw caInvalid(`the private key of CA "${subjectOf(x509)}" is ${privateKey.asymmetricKeyType ?? 'of an unknown type'}; Gatehouse signs with RSA keys only`);
    }
    if (!x509.checkPrivateKey(privateKey)) {
      throw caInvalid(`the private key given for CA "${subjectOf(x509)}" does not belong to its certificate`);
    }
    if (!x509.ca) {
      throw caInvalid(`the certificate "${subjectOf(x509)}" is not a CA certificate (its basicConstraints do not say CA:TRUE)`);
    }
    let cert: forge.pki.Certificate;
    let key: forge.pki.rsa.PrivateKey;
    try {
      cert = pki.certificateFromPem(pair.certPem);
      key = pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    } catch (error) {
      throw caInvalid(`CA "${subjectOf(x509)}" cannot be used for signing: ${messageOf(error)}`);
    }
    return new CertificateAuthority(cert, key, x509, { certPem: pair.certPem, keyPem: pair.keyPem }, now);
  }

  get certPem(): string {
    return this.pair.certPem;
  }

  get keyPem(): string {
    return this.pair.keyPem;
  }

  /** When this CA's own certificate expires; nothing it issues outlives it. */
  get notAfter(): Date {
    return new Date(this.x509.validTo);
  }

  /** A short-lived client certificate carrying `user` and, for a database certificate, `route`. */
  issueClientCertificate(request: ClientCertificateRequest): IssuedClientCertificate {
    const userProblem = badIdentityText(request.user);
    if (userProblem !== undefined) throw badRequest(`user name ${JSON.stringify(request.user)} cannot go into a certificate: ${userProblem}`);
    const rawExtensions: RawExtension[] = [];
    if (request.route !== undefined) {
      try {
        rawExtensions.push({ oidContent: ROUTE_EXTENSION_OID_CONTENT, value: encodeRouteExtension(request.route) });
      } catch (error) {
        throw badRequest(messageOf(error));
      }
    }
    checkDuration(request.ttlMs, 'ttlMs');
    let keyPem: string | undefined;
    let publicKey: SubjectPublicKey;
    if (request.publicKeyPem === undefined) {
      const keys = generateEcKeyPair();
      keyPem = keys.privateKeyPem;
      publicKey = subjectPublicKey(createPublicKey(keys.publicKeyPem));
    } else {
      publicKey = clientPublicKey(request.publicKeyPem);
    }
    const certPem = this.sign(publicKey, distinguishedName(request.user), request.ttlMs, [
      { name: 'basicConstraints', critical: true, cA: false },
      keyUsageFor(publicKey),
      { name: 'extKeyUsage', clientAuth: true },
    ], rawExtensions);
    return { certPem, ...(keyPem === undefined ? {} : { keyPem }), notAfter: new Date(new X509Certificate(certPem).validTo) };
  }

  /** A TLS server certificate for the given names and addresses, with a new ECDSA P-256 key pair. */
  issueServerCertificate(request: ServerCertificateRequest): KeyPairPem {
    checkDuration(request.ttlMs, 'ttlMs');
    const altNames: Array<{ type: number; value?: string; ip?: string }> = [];
    for (const dnsName of request.dnsNames) {
      if (!/^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$/.test(dnsName)) throw new RangeError(`not a DNS name: ${JSON.stringify(dnsName)}`);
      altNames.push({ type: 2, value: dnsName });
    }
    for (const ip of request.ipAddresses) {
      if (isIP(ip) === 0) throw new RangeError(`not an IP address: ${JSON.stringify(ip)}`);
      altNames.push({ type: 7, ip });
    }
    if (altNames.length === 0) throw new RangeError('a server certificate needs at least one DNS name or IP address');
    const keys = generateEcKeyPair();
    const publicKey = subjectPublicKey(createPublicKey(keys.publicKeyPem));
    const subject: forge.pki.CertificateField[] = [
      { type: OID_ORGANIZATION, value: GATEHOUSE_ORGANIZATION, valueTagClass: UTF8_TAG },
      { type: OID_COMMON_NAME, value: request.commonName, valueTagClass: UTF8_TAG },
    ];
    const certPem = this.sign(publicKey, subject, request.ttlMs, [
      { name: 'basicConstraints', critical: true, cA: false },
      keyUsageFor(publicKey),
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ]);
    return { certPem, keyPem: keys.privateKeyPem };
  }

  /**
   * Builds, signs and double-checks (with OpenSSL, through node:crypto) one certificate.
   * `rawExtensions` are added as DER because forge cannot encode an OID arc above 2^32, and the
   * route extension's UUID arc is 128 bits; they are always non-critical. The subject's key goes
   * in as DER too, because forge can encode only RSA keys (see replaceSubjectPublicKeyInfo).
   */
  private sign(
    publicKey: SubjectPublicKey,
    subject: forge.pki.CertificateField[],
    ttlMs: number,
    extensions: object[],
    rawExtensions: readonly RawExtension[] = [],
  ): string {
    const now = this.now();
    const caNotAfter = this.notAfter.getTime();
    if (caNotAfter <= now) {
      throw caInvalid(`CA "${subjectOf(this.x509)}" expired on ${this.notAfter.toISOString()}; create a new one (move its files away and run "gatehouse ca init")`);
    }
    const cert = pki.createCertificate();
    // A stand-in that forge can encode; replaceSubjectPublicKeyInfo swaps in the real key below.
    cert.publicKey = this.cert.publicKey;
    cert.serialNumber = newSerialNumber();
    setValidity(cert, now, Math.min(now + ttlMs, caNotAfter));
    cert.setSubject(subject);
    cert.setIssuer(this.cert.subject.attributes.map(reencodableAttribute));
    cert.setExtensions([
      ...extensions,
      // Given as a value, so forge does not derive it from the stand-in key.
      { name: 'subjectKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, subjectKeyIdentifier(publicKey.spkiDer).toString('binary')) },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.keyIdentifier() },
    ]);
    cert.signatureOid = cert.siginfo.algorithmOid = pki.oids.sha256WithRSAEncryption as string;
    const tbs = (pki as unknown as ForgeTbs).getTBSCertificate(cert);
    replaceSubjectPublicKeyInfo(tbs, pki.publicKeyToAsn1(cert.publicKey), publicKey.spkiDer);
    appendRawExtensions(tbs, rawExtensions);
    const digest = md.sha256.create();
    digest.update(asn1.toDer(tbs).getBytes());
    // certificateToAsn1 writes a cached tbsCertificate as is, with the raw extensions in it.
    cert.tbsCertificate = tbs;
    cert.signature = this.key.sign(digest);
    const certPem = pki.certificateToPem(cert);
    const issued = new X509Certificate(certPem);
    if (!issued.checkIssued(this.x509) || !issued.verify(this.x509.publicKey)) {
      throw caInvalid(`a certificate signed by CA "${subjectOf(this.x509)}" does not verify against it`);
    }
    if (!issued.publicKey.export({ type: 'spki', format: 'der' }).equals(publicKey.spkiDer)) {
      throw new Error(`a certificate signed by CA "${subjectOf(this.x509)}" does not carry the key it was issued for`);
    }
    return certPem;
  }

  /** The CA's subjectKeyIdentifier (binary string), for the authorityKeyIdentifier of what it signs. */
  private keyIdentifier(): string {
    const extension = this.cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
    if (extension?.subjectKeyIdentifier !== undefined) return util.hexToBytes(extension.subjectKeyIdentifier);
    return this.cert.generateSubjectKeyIdentifier().getBytes();
  }
}

/** forge exports getTBSCertificate; its type definitions leave it out. */
interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

/** forge's fromDer takes an options object; its type definitions know only the boolean `strict`. */
type FromDerWithOptions = (bytes: string, options: { decodeBitStrings: boolean }) => forge.asn1.Asn1;

interface RawExtension {
  /** Content octets of the extension's OID. */
  readonly oidContent: Uint8Array;
  /** DER of the extension's value (what goes inside extnValue's OCTET STRING). */
  readonly value: Uint8Array;
}

/**
 * Puts the subject's SubjectPublicKeyInfo (DER from node:crypto, any key type) where forge wrote
 * the stand-in's. It is the seventh field of the TBSCertificate (after version, serial, signature
 * algorithm, issuer, validity and subject); the check that forge's encoding of the stand-in is
 * there makes a change in forge's layout fail loudly instead of certifying the wrong key.
 */
function replaceSubjectPublicKeyInfo(tbs: forge.asn1.Asn1, standIn: forge.asn1.Asn1, spkiDer: Buffer): void {
  const fields = tbs.value as forge.asn1.Asn1[];
  const field = fields[SPKI_FIELD_INDEX];
  if (field === undefined || asn1.toDer(field).getBytes() !== asn1.toDer(standIn).getBytes()) {
    throw new Error('forge did not put the subjectPublicKeyInfo where expected');
  }
  // decodeBitStrings off: the key's BIT STRING is kept as bytes, never guessed to be nested DER.
  fields[SPKI_FIELD_INDEX] = (asn1.fromDer as unknown as FromDerWithOptions)(spkiDer.toString('binary'), { decodeBitStrings: false });
}

/** Adds non-critical extensions to the [3] extensions field that forge put at the end of the TBSCertificate. */
function appendRawExtensions(tbs: forge.asn1.Asn1, rawExtensions: readonly RawExtension[]): void {
  if (rawExtensions.length === 0) return;
  const fields = tbs.value as forge.asn1.Asn1[];
  const extensionsField = fields[fields.length - 1];
  const list = Array.isArray(extensionsField?.value) ? extensionsField.value[0] : undefined;
  if (extensionsField?.tagClass !== asn1.Class.CONTEXT_SPECIFIC || extensionsField.type !== 3 || list === undefined || !Array.isArray(list.value)) {
    throw new Error('forge did not put the extensions where expected');
  }
  for (const extension of rawExtensions) {
    list.value.push(
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, util.binary.raw.encode(extension.oidContent)),
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, util.binary.raw.encode(extension.value)),
      ]),
    );
  }
}

function generateCaKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: CA_RSA_MODULUS_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/** A client's own public key, accepted when it is EC P-256 or RSA of 2048 to 8192 bits. */
function clientPublicKey(pem: string): SubjectPublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw badRequest(`the public key cannot be parsed: ${messageOf(error)}`);
  }
  const problem = unacceptableKey(key);
  if (problem !== undefined) throw badRequest(`the public key is ${problem}; Gatehouse certifies ${ACCEPTED_KEYS}`);
  return subjectPublicKey(key);
}

/**
 * digitalSignature is all a TLS key does with ECDHE key exchange; an RSA key also keeps
 * keyEncipherment, as Gatehouse's RSA certificates always had it. An EC key cannot encipher, and
 * RFC 5480 forbids saying so.
 */
function keyUsageFor(key: SubjectPublicKey): object {
  return { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: key.type === 'rsa' };
}

/** O=gatehouse, CN=<name>, as UTF8Strings so any user name survives. */
function distinguishedName(commonName: string): forge.pki.CertificateField[] {
  return [
    { type: OID_ORGANIZATION, value: GATEHOUSE_ORGANIZATION, valueTagClass: UTF8_TAG },
    { type: OID_COMMON_NAME, value: commonName, valueTagClass: UTF8_TAG },
  ];
}

/**
 * forge keeps a parsed attribute's value as the raw bytes but UTF-8-encodes a UTF8String's value
 * again when writing it; decoding first makes the issuer name byte-for-byte the CA's subject,
 * which is what chain building compares.
 */
function reencodableAttribute(attribute: forge.pki.CertificateField): forge.pki.CertificateField {
  if ((attribute.valueTagClass as unknown) === asn1.Type.UTF8 && typeof attribute.value === 'string') {
    return { ...attribute, value: util.decodeUtf8(attribute.value) };
  }
  return attribute;
}

/** 16 random bytes, top bit clear so the INTEGER is positive, first byte non-zero so its DER is minimal. */
function newSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] as number) & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** forge writes whole seconds; the dates are truncated here so what is returned is what was signed. */
function setValidity(cert: forge.pki.Certificate, nowMs: number, notAfterMs: number): void {
  cert.validity.notBefore = new Date(Math.floor((nowMs - CLOCK_SKEW_MS) / 1000) * 1000);
  cert.validity.notAfter = new Date(Math.floor(notAfterMs / 1000) * 1000);
}

function checkDuration(value: number, name: string): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds, not ${value}`);
}

function caInvalid(message: string): GatehouseError {
  return new GatehouseError(ErrorCodes.CA_INVALID, message, { sqlState: SqlState.INTERNAL_ERROR });
}

/** A request Gatehouse cannot turn into a Gatehouse client certificate. */
function badRequest(message: string): GatehouseError {
  return new GatehouseError(ErrorCodes.CERT_INVALID, message, { sqlState: SqlState.INVALID_AUTHORIZATION });
}

/** The subject on one line, as it reads in a message: "O=gatehouse, CN=Gatehouse user CA". */
function subjectOf(certificate: X509Certificate): string {
  return certificate.subject.split('\n').join(', ');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

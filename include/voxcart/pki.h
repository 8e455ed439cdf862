/*
 * A small certificate factory on top of OpenSSL: keys, certificates with chosen
 * validity, SANs and CA flags, PEM files, and request signing. It is what
 * `voxcart devca` and `voxcart sign` use, and what the tests use to make every
 * kind of good and broken chain at test time.
 */
#ifndef VOXCART_PKI_H
#define VOXCART_PKI_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "voxcart/common.h"

struct vx_pki_cert_opts {
    const char *common_name;
    const char *san_dns; /* comma-separated DNS names, NULL for none */
    const char *san_ip;  /* comma-separated IP addresses, NULL for none */
    int64_t not_before;  /* epoch seconds */
    int64_t not_after;   /* epoch seconds */
    int is_ca;           /* basicConstraints CA:TRUE + keyCertSign */
    int server_auth;     /* extendedKeyUsage serverAuth (TLS server certificates) */
    uint64_t serial;     /* 0 = random */
};

/* RSA key of `bits` bits (2048 unless told otherwise). */
int vx_pki_keygen(int bits, EVP_PKEY **out, struct vx_err *e);

/* Issues a certificate for subject_key. issuer == NULL makes it self-signed by issuer_key
 * (which must then be subject_key). */
int vx_pki_issue(const struct vx_pki_cert_opts *o, EVP_PKEY *subject_key, X509 *issuer,
                 EVP_PKEY *issuer_key, X509 **out, struct vx_err *e);

/* PEM in memory (malloc'd, NUL-terminated) and on disk (keys written with mode 0600). */
int vx_pki_cert_pem(X509 *cert, char **out, size_t *len, struct vx_err *e);
int vx_pki_write_cert(const char *path, X509 *const *certs, size_t n, struct vx_err *e);
int vx_pki_write_key(const char *path, EVP_PKEY *key, struct vx_err *e);
int vx_pki_read_key(const char *path, EVP_PKEY **out, struct vx_err *e);
int vx_pki_read_cert(const char *path, X509 **out, struct vx_err *e);

/* base64(RSA PKCS#1 v1.5 SHA-256 signature over body): the Signature-256 header value. */
int vx_pki_sign_body(EVP_PKEY *key, const void *body, size_t len, char **b64_out, struct vx_err *e);

/* The development CA as `voxcart devca` lays it out in a directory. */
#define VX_DEVCA_CERT_URL    "https://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem"
#define VX_DEVCA_ROOT        "root.pem" /* trust anchor: the CA file for voxcartd */
#define VX_DEVCA_ROOT_KEY    "root.key"
#define VX_DEVCA_INTER       "intermediate.pem"
#define VX_DEVCA_INTER_KEY   "intermediate.key"
#define VX_DEVCA_SIGNING     "signing.pem" /* leaf, SAN echo-api.amazon.com */
#define VX_DEVCA_SIGNING_KEY "signing.key"
#define VX_DEVCA_CHAIN       "chain.pem"  /* signing + intermediate: what the cert URL serves */
#define VX_DEVCA_SERVER      "server.pem" /* TLS: localhost, 127.0.0.1, ::1 */
#define VX_DEVCA_SERVER_KEY  "server.key"

/*
 * Creates the development CA in dir (created if missing): a root, an
 * intermediate, a signing leaf with SAN echo-api.amazon.com, the chain file, and
 * a TLS server certificate. Existing files are kept unless force is set.
 * `days` is the validity of the leaves (the root gets ten times as long).
 */
int vx_devca_create(const char *dir, int days, int force, struct vx_err *e);

/*
 * The same, reporting in *made (optional) which parts it wrote, as VX_DEVCA_MADE_* bits.
 * Without force, a part is also remade when it has expired or no longer chains to its
 * parent; remaking a CA remakes everything it issued.
 */
#define VX_DEVCA_MADE_ROOT    0x01u /* root.pem, root.key */
#define VX_DEVCA_MADE_INTER   0x02u /* intermediate.pem, intermediate.key */
#define VX_DEVCA_MADE_SIGNING 0x04u /* signing.pem, signing.key */
#define VX_DEVCA_MADE_CHAIN   0x08u /* chain.pem */
#define VX_DEVCA_MADE_SERVER  0x10u /* server.pem, server.key */
int vx_devca_create_ex(const char *dir, int days, int force, unsigned *made, struct vx_err *e);

#endif

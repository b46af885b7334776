/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SHA-256 (FIPS 180-4), small and dependency-free: the state file records
 * the digest of the allowlist text it was taken under.
 */
#ifndef MSRSAVE_SHA256_H
#define MSRSAVE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32

struct sha256_ctx {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	unsigned char block[64];
	size_t used; /* bytes waiting in block */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_DIGEST_LEN]);
/* Digest of @len bytes as 64 lower-case hex digits plus NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif /* MSRSAVE_SHA256_H */

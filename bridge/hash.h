/*
 * FNV-1a, 64 bits: a fast hash for tables (strtab.c, state.c's index) and for noticing that
 * a file or a feed changed (idle.c). Not for anything an attacker chooses to collide.
 */
#ifndef BRIDGE_HASH_H
#define BRIDGE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_START UINT64_C(0xcbf29ce484222325)  /* the hash of nothing */

/* h with the n bytes at p added. */
static inline uint64_t
hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* h with the string s added, without its NUL. */
static inline uint64_t
hash_str(uint64_t h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		h = (h ^ *p) * UINT64_C(0x100000001b3);
	return h;
}

#endif

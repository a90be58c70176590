/*
 * A string table: each distinct string is kept once, packed in large blocks, and handed out
 * as a pointer that stays valid until strtab_release(). The records of a large fleet hold
 * 100,000s of short strings that mostly repeat (versions, builds, models, policy and ring
 * names); one malloc each costs at least 32 bytes, here a repeat costs nothing and a new
 * string its length plus a hash slot.
 */
#ifndef BRIDGE_STRTAB_H
#define BRIDGE_STRTAB_H

#include <stddef.h>

#define STRTAB_MAX_BYTES ((size_t)512 * 1024 * 1024)  /* refused past this: a runaway */

struct strtab {
	char **blocks;      /* the text, in blocks of STRTAB_BLOCK_BYTES (or one long string) */
	size_t nblocks;
	size_t used;        /* bytes used in the last block */
	size_t bytes;       /* text kept in all */
	const char **slots; /* open addressing hash of the strings; NULL: empty */
	size_t cap;         /* a power of two, or 0 */
	size_t n;           /* distinct strings */
};

/*
 * The table's copy of s, made on first use; NULL for s NULL, or when out of memory or past
 * STRTAB_MAX_BYTES (with s not NULL). The copy belongs to the table.
 */
const char *strtab_intern(struct strtab *t, const char *s);

/*
 * A copy of s kept with the table's strings but not looked up, nor found by a later
 * strtab_intern(): for strings that seldom repeat (ids, names, serial numbers), where the hash
 * would only cost time. NULL as for strtab_intern().
 */
const char *strtab_add(struct strtab *t, const char *s);

/* Free every string of t; t is then empty and may be used again. */
void strtab_release(struct strtab *t);

#endif

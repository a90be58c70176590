/* The string table (see strtab.h). */
#include "strtab.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define STRTAB_BLOCK_BYTES ((size_t)64 * 1024)

static size_t
hash(const char *s)
{
	return (size_t)hash_str(HASH_START, s);
}

/* Grow the hash to twice its size (or its first 256 slots); 0 or -1. */
static int
grow(struct strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 256;
	const char **slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		size_t at;

		if (t->slots[i] == NULL)
			continue;
		for (at = hash(t->slots[i]) & (cap - 1); slots[at] != NULL; at = (at + 1) & (cap - 1))
			continue;
		slots[at] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/*
 * Room for len bytes; NULL when out of memory. The last block is the one being filled; a
 * string longer than a block gets a block of its own, put before it.
 */
static char *
room(struct strtab *t, size_t len)
{
	char **blocks, *block;
	bool own = len > STRTAB_BLOCK_BYTES;

	if (!own && t->nblocks > 0 && STRTAB_BLOCK_BYTES - t->used >= len) {
		t->used += len;
		return t->blocks[t->nblocks - 1] + t->used - len;
	}
	if ((blocks = realloc(t->blocks, (t->nblocks + 1) * sizeof(*blocks))) == NULL)
		return NULL;
	t->blocks = blocks;
	if ((block = malloc(own ? len : STRTAB_BLOCK_BYTES)) == NULL)
		return NULL;
	if (own && t->nblocks > 0) {
		blocks[t->nblocks] = blocks[t->nblocks - 1];
		blocks[t->nblocks - 1] = block;
	} else {
		blocks[t->nblocks] = block;
		/* a first block of its own is full: the next string starts a new one */
		t->used = own ? STRTAB_BLOCK_BYTES : len;
	}
	t->nblocks++;
	return block;
}

/* A copy of s in the blocks; NULL when out of memory or past STRTAB_MAX_BYTES. */
static char *
copy_in(struct strtab *t, const char *s)
{
	size_t len = strlen(s) + 1;
	char *copy;

	if (len > STRTAB_MAX_BYTES - t->bytes || (copy = room(t, len)) == NULL)
		return NULL;
	memcpy(copy, s, len);
	t->bytes += len;
	return copy;
}

const char *
strtab_intern(struct strtab *t, const char *s)
{
	size_t at;
	char *copy;

	if (s == NULL)
		return NULL;
	if ((t->n + 1) * 2 > t->cap && grow(t) == -1)
		return NULL;
	for (at = hash(s) & (t->cap - 1); t->slots[at] != NULL; at = (at + 1) & (t->cap - 1))
		if (strcmp(t->slots[at], s) == 0)
			return t->slots[at];
	if ((copy = copy_in(t, s)) == NULL)
		return NULL;
	t->slots[at] = copy;
	t->n++;
	return copy;
}

const char *
strtab_add(struct strtab *t, const char *s)
{
	return s != NULL ? copy_in(t, s) : NULL;
}

void
strtab_release(struct strtab *t)
{
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/*
 * nl_tab.c - the socket cache's table of named namespaces: open
 * addressing with linear probing, keyed by netns name (FNV-1a), at most
 * half full, removal by backward shift (no tombstones, so a long-lived
 * nslab adding and deleting thousands of namespaces keeps short probes).
 * No I/O: the entries are opened and closed by nl.c; unit-tested.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nl/nl.h"

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Slot of name in the table: its entry, or the empty slot it would take.
 * The table must have a slot (cap > 0). */
static size_t slot_of(const struct nl_cache *st, const char *name)
{
	size_t i = hash_name(name) & (st->cap - 1);

	while (st->tab[i] && strcmp(st->tab[i]->name, name) != 0)
		i = (i + 1) & (st->cap - 1);
	return i;
}

static int grow(struct nl_cache *st)
{
	size_t oldcap = st->cap, ncap = oldcap ? oldcap * 2 : 64;
	struct nl_conn **old = st->tab;
	/* an array of pointers: sizeof(*tab) is meant */
	struct nl_conn **tab =
	    calloc(ncap, sizeof(*tab)); // NOLINT(bugprone-sizeof-expression)

	if (!tab)
		return -1;
	st->tab = tab;
	st->cap = ncap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			st->tab[slot_of(st, old[i]->name)] = old[i];
	free(old);
	return 0;
}

struct nl_conn *nl_tab_find(const struct nl_cache *st, const char *name)
{
	return st->cap ? st->tab[slot_of(st, name)] : NULL;
}

int nl_tab_put(struct nl_cache *st, struct nl_conn *c)
{
	size_t i;

	if ((st->len + 1) * 2 > st->cap && grow(st) < 0) {
		errno = ENOMEM;
		return -1;
	}
	i = slot_of(st, c->name);
	if (st->tab[i]) {
		errno = EEXIST;
		return -1;
	}
	st->tab[i] = c;
	st->len++;
	return 0;
}

struct nl_conn *nl_tab_take(struct nl_cache *st, const char *name)
{
	struct nl_conn *c, *taken;
	size_t i, j;

	if (!st->cap)
		return NULL;
	i = slot_of(st, name);
	taken = st->tab[i];
	if (!taken)
		return NULL;
	st->tab[i] = NULL;
	st->len--;
	/* Re-place the rest of the cluster, so that no entry after the hole
	 * is cut off from its home slot. */
	for (j = (i + 1) & (st->cap - 1); (c = st->tab[j]);
	     j = (j + 1) & (st->cap - 1)) {
		st->tab[j] = NULL;
		st->tab[slot_of(st, c->name)] = c;
	}
	return taken;
}

void nl_tab_free(struct nl_cache *st)
{
	/* the entries are the caller's to close first */
	free(st->tab);
	st->tab = NULL;
	st->cap = st->len = 0;
}

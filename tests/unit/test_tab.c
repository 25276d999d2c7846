/*
 * test_tab.c - the socket cache's table (src/nl/nl_tab.c): insert, find
 * and take with many names, names that collide on purpose (one cluster
 * wrapping the end of the table), growth, and a long random sequence
 * checked against a plain array.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl/nl.h"
#include "unit.h"

static struct nl_conn *entry(const char *name)
{
	struct nl_conn *c = calloc(1, sizeof(*c));

	if (!c || !(c->name = strdup(name)))
		abort();
	c->nsfd = c->mntfd = -1;
	return c;
}

static void drop(struct nl_conn *c)
{
	if (c)
		free(c->name);
	free(c);
}

static void clear(struct nl_cache *t)
{
	for (size_t i = 0; i < t->cap; i++)
		drop(t->tab[i]);
	nl_tab_free(t);
}

/* The table's invariants: cap a power of two, at most half full, len
 * entries, each reachable from its home slot. */
static int sound(const struct nl_cache *t)
{
	size_t n = 0;

	if (t->cap & (t->cap - 1) || t->len * 2 > t->cap)
		return 0;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->tab[i])
			continue;
		if (nl_tab_find(t, t->tab[i]->name) != t->tab[i])
			return 0;
		n++;
	}
	return n == t->len;
}

static void empty_table(void)
{
	struct nl_cache t = {0};

	CHECK(nl_tab_find(&t, "red") == NULL);
	CHECK(nl_tab_take(&t, "red") == NULL);
	nl_tab_free(&t);
	CHECK(t.cap == 0 && t.len == 0 && t.tab == NULL);
}

static void many_names_grow(void)
{
	struct nl_cache t = {0};
	char name[32];
	int missing = 0, wrong = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "ns-%d", i);
		CHECK(nl_tab_put(&t, entry(name)) == 0);
	}
	CHECK(t.len == 5000 && t.cap >= 10000 && sound(&t));
	for (int i = 0; i < 5000; i++) {
		struct nl_conn *c;

		snprintf(name, sizeof(name), "ns-%d", i);
		c = nl_tab_find(&t, name);
		missing += !c;
		wrong += c && strcmp(c->name, name) != 0;
	}
	CHECK(missing == 0 && wrong == 0);
	for (int i = 0; i < 5000; i += 2) { /* every other one goes */
		snprintf(name, sizeof(name), "ns-%d", i);
		drop(nl_tab_take(&t, name));
	}
	CHECK(t.len == 2500 && sound(&t));
	missing = wrong = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "ns-%d", i);
		if (i % 2)
			missing += !nl_tab_find(&t, name);
		else
			wrong += nl_tab_find(&t, name) != NULL;
	}
	CHECK(missing == 0 && wrong == 0);
	CHECK(nl_tab_find(&t, "ns-5000") == NULL);
	CHECK(nl_tab_take(&t, "ns-0") == NULL); /* already gone */
	clear(&t);
}

static void same_name_twice(void)
{
	struct nl_cache t = {0};
	struct nl_conn *a = entry("red"), *b = entry("red");

	CHECK(nl_tab_put(&t, a) == 0);
	errno = 0;
	CHECK(nl_tab_put(&t, b) == -1 && errno == EEXIST);
	CHECK(t.len == 1 && nl_tab_find(&t, "red") == a);
	CHECK(nl_tab_take(&t, "red") == a);
	CHECK(nl_tab_put(&t, b) == 0 && nl_tab_find(&t, "red") == b);
	drop(a);
	clear(&t);
}

/* The table's hash (FNV-1a), to make names collide on purpose. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void collisions_wrap_around(void)
{
	struct nl_cache t = {0};
	char names[20][16];
	int n = 0, placed = 1;

	/* 20 names whose home is the last slot of a 64-slot table: one
	 * cluster, 63, 0, 1, ..., 18, wrapping the end. */
	for (int i = 0; n < 20; i++) {
		snprintf(names[n], sizeof(names[n]), "c%d", i);
		if ((fnv1a(names[n]) & 63) == 63)
			n++;
	}
	for (int i = 0; i < 20; i++)
		CHECK(nl_tab_put(&t, entry(names[i])) == 0);
	CHECK(t.cap == 64 && t.len == 20 && sound(&t));
	for (int i = 0; i < 20; i++)
		placed &= t.tab[(63 + i) & 63] &&
			  !strcmp(t.tab[(63 + i) & 63]->name, names[i]);
	CHECK(placed); /* they did collide, in order */
	/* Take from the head, the middle and the tail of the cluster: the
	 * others must stay reachable across the hole and the wrap. */
	drop(nl_tab_take(&t, names[0]));
	CHECK(sound(&t) && nl_tab_find(&t, names[1]));
	drop(nl_tab_take(&t, names[10]));
	drop(nl_tab_take(&t, names[19]));
	CHECK(t.len == 17 && sound(&t));
	for (int i = 1; i < 19; i++)
		if (i != 10)
			CHECK(nl_tab_find(&t, names[i]) != NULL);
	CHECK(nl_tab_find(&t, names[0]) == NULL);
	CHECK(nl_tab_find(&t, names[10]) == NULL);
	/* An unrelated name in slot 0's home stays findable too. */
	for (int i = 0;; i++) {
		char other[16];

		snprintf(other, sizeof(other), "o%d", i);
		if ((fnv1a(other) & 63) == 0) {
			CHECK(nl_tab_put(&t, entry(other)) == 0);
			drop(nl_tab_take(&t, names[1]));
			CHECK(nl_tab_find(&t, other) != NULL && sound(&t));
			break;
		}
	}
	clear(&t);
}

static void random_sequence_matches_model(void)
{
	enum { NAMES = 700, STEPS = 200000 };
	struct nl_cache t = {0};
	static char in[NAMES];
	uint32_t x = 12345;
	char name[32];
	int bad = 0;

	memset(in, 0, sizeof(in));
	for (int s = 0; s < STEPS && !bad; s++) {
		int k;

		x = x * 1103515245u + 12345u; /* a fixed LCG: reproducible */
		k = (int)((x >> 8) % NAMES);
		snprintf(name, sizeof(name), "n%d", k);
		if (in[k]) {
			struct nl_conn *c = nl_tab_take(&t, name);

			bad += !c || strcmp(c->name, name) != 0;
			drop(c);
		} else {
			bad += nl_tab_put(&t, entry(name)) != 0;
		}
		in[k] = !in[k];
		bad += (nl_tab_find(&t, name) != NULL) != in[k];
		if (s % 20000 == 0)
			bad += !sound(&t);
	}
	CHECK(bad == 0);
	for (int k = 0; k < NAMES; k++) {
		snprintf(name, sizeof(name), "n%d", k);
		bad += (nl_tab_find(&t, name) != NULL) != in[k];
	}
	CHECK(bad == 0 && sound(&t));
	clear(&t);
}

const struct unit_case unit_tab[] = {
    {"socket cache table: empty", empty_table},
    {"socket cache table: 5000 names, growth, every other taken",
     many_names_grow},
    {"socket cache table: a name is there once", same_name_twice},
    {"socket cache table: a colliding cluster across the end",
     collisions_wrap_around},
    {"socket cache table: 200000 random puts and takes",
     random_sequence_matches_model},
    {NULL, NULL},
};

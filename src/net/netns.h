/*
 * netns.h - what the netns files share: netns.c (add, del, list, exists,
 * id, the netns.* table) and netns_pids.c (pids, kill).
 */
#ifndef NSLAB_NETNS_H
#define NSLAB_NETNS_H

#include <stdio.h>

#include "core/core.h"

/* Enough for NSLAB_NETNS_DIR "/NAME" with a NAME of up to 255 bytes. */
#define NETNS_PATH_SIZE (sizeof(NSLAB_NETNS_DIR) + 256)

/* NSLAB_NETNS_DIR "/name" into buf (NETNS_PATH_SIZE bytes). */
static inline void netns_path(char *buf, const char *name)
{
	snprintf(buf, NETNS_PATH_SIZE, NSLAB_NETNS_DIR "/%s", name);
}

/* Makes NSLAB_NETNS_DIR a shared mount point, as `ip netns add` does
 * (once per state). Returns 0 or -1 with errno set (netns.c). */
int netns_dir_setup(struct nslab_state *st);

/* batch.netns (netns_batch.c). */
int l_batch_netns(lua_State *L);

/* The functions of nslab.core.netns living in netns_pids.c. */
int l_netns_pids(lua_State *L);
int l_netns_kill(lua_State *L);

#endif
